"""The chart of accounts the journal posts to: our account roles mapped to the ledger's codes and names.

Finance's ledger (Xero, QuickBooks, SAP…) has its own codes; the setting SEATLEASE_CHART_OF_ACCOUNTS
(JSON, or the path of a JSON file) maps each role below to ``{"code": "1200", "name": "Trade
debtors"}`` (or just ``"1200"``: the code, with the default name). Roles left out keep their
default; an unknown role or a malformed entry is refused at start-up, naming it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Account:
    code: str
    name: str


# role -> the account it posts to when the chart does not say otherwise
DEFAULT_ACCOUNTS: Mapping[str, Account] = MappingProxyType(
    {
        "accounts_receivable": Account("1200", "Accounts receivable"),
        "revenue": Account("4000", "Revenue"),
        "tax_payable": Account("2200", "Tax payable"),
        "deposits_held": Account("2300", "Deposits held"),
        # money received and not (yet) applied to an invoice: the client's credit balance, a liability
        "customer_credit": Account("2400", "Customer credit"),
        # tax the client withheld on our invoices: an asset, creditable once its certificate arrives
        "withholding_tax": Account("1400", "Creditable withholding tax"),
        # where received money lands, by payment method
        "cash_bank_transfer": Account("1010", "Cash:Bank"),
        "cash_cheque": Account("1010", "Cash:Bank"),
        "cash_cash": Account("1000", "Cash:On hand"),
        "cash_card": Account("1030", "Cash:Card clearing"),
        "cash_stripe": Account("1040", "Cash:Stripe clearing"),
    }
)

SETTING = "SEATLEASE_CHART_OF_ACCOUNTS"


class ChartError(ValueError):
    """What is wrong with the chart, naming the role (and the setting)."""


@dataclass(frozen=True)
class ChartOfAccounts:
    accounts: Mapping[str, Account] = field(default_factory=lambda: DEFAULT_ACCOUNTS)

    def __getitem__(self, role: str) -> Account:
        return self.accounts[role]

    def cash(self, method: str) -> Account:
        """Where money paid (or refunded) by this method is posted."""
        return self.accounts.get(f"cash_{method}", self.accounts["cash_bank_transfer"])


def _entry(role: str, value: Any) -> Account:
    default = DEFAULT_ACCOUNTS[role]
    if isinstance(value, str):
        value = {"code": value}
    if not isinstance(value, dict):
        raise ChartError(f'{SETTING}: "{role}" must be an account code or {{"code": …, "name": …}}')
    unknown = set(value) - {"code", "name"}
    if unknown:
        raise ChartError(f'{SETTING}: "{role}" has unknown key(s) {", ".join(sorted(unknown))} (only code and name)')
    code, name = value.get("code", default.code), value.get("name", default.name)
    for key, text in (("code", code), ("name", name)):
        if not isinstance(text, str) or not text.strip() or len(text) > 100 or any(ch in text for ch in "\r\n"):
            raise ChartError(f'{SETTING}: "{role}".{key} must be a non-empty line of text (at most 100 characters)')
    return Account(code.strip(), name.strip())


def parse_chart(raw: str | None) -> ChartOfAccounts:
    """The chart from the setting's value: empty = the defaults; JSON text; else
    the path of a JSON file. Raises ChartError naming what is wrong."""
    if raw is None or not raw.strip():
        return ChartOfAccounts()
    text = raw.strip()
    if not text.startswith(("{", "[")):
        try:
            text = Path(text).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ChartError(f"{SETTING}: cannot read the file {raw.strip()!r}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChartError(f"{SETTING}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ChartError(f"{SETTING}: must be a JSON object of role -> account")
    unknown = sorted(set(data) - set(DEFAULT_ACCOUNTS))
    if unknown:
        raise ChartError(f'{SETTING}: unknown account role "{unknown[0]}" (the roles: {", ".join(DEFAULT_ACCOUNTS)})')
    accounts = dict(DEFAULT_ACCOUNTS) | {role: _entry(role, value) for role, value in data.items()}
    return ChartOfAccounts(MappingProxyType(accounts))
