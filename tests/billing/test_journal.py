"""The journal export: a month with every kind of entry (invoices, a void, a credit note, payments by
bank, cheque, Stripe and card with unallocated remainders, credit applied later, tax withheld, refunds,
a held cheque and a void payment that post nothing) in two currencies balances to zero in each; posted
to the configured chart of accounts; the API (JSON and CSV) and the CLI give totals per currency."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.chart import ChartError, parse_chart
from billing.db import driver
from billing.facts import Month
from billing.journal import JournalLine, journal_rows, totals_by_currency
from domain.rules.money import format_money
from service.cli_billing import billing_run_command, statements_export_command
from tests.billing.ledger_setup import Party, allocate, credit_note, invoice, make_party, payment, refund
from tests.factories import Api, ClientLogin, lease_body, make_world


async def _month_with_everything(staff: Api, db: asyncpg.Pool, y: int) -> dict[str, Any]:
    php = await make_party(staff, currency="PHP")
    usd = await make_party(staff, currency="USD", timezone="America/Chicago")
    d = lambda day: date(y, 3, day)  # noqa: E731
    inv1 = await invoice(db, php, issue=d(3), seat_minor=100_000, deposit_minor=50_000)  # 162,000
    inv2 = await invoice(db, php, issue=d(5), seat_minor=20_000, status="void", voided_on=d(10))
    cn = await credit_note(db, php, inv1, on=d(6), amount_minor=10_000)  # 11,200
    # 200,000 by bank: 145,800 paid and 5,000 withheld on inv1 (what it still owed), 54,200 left as credit
    pay1 = await payment(db, php, on=d(12), amount_minor=200_000, allocations=[(inv1, 145_800, 5_000, None)])
    inv3 = await invoice(db, php, issue=d(15), seat_minor=30_000)  # 33,600, paid from the credit on the 20th
    await allocate(db, pay1, inv3, 33_600, 0, d(20))
    await payment(db, php, on=d(14), amount_minor=77_777, method="cheque", status="held", allocations=[(inv3, 33_600, 0, None)])
    await payment(db, php, on=d(16), amount_minor=66_666, status="void")
    await payment(db, php, on=d(18), amount_minor=12_345, method="cheque")  # on account: all credit
    await refund(db, php, on=d(25), amount_minor=10_000, method="cash")

    inv_u = await invoice(db, usd, issue=d(2), seat_minor=500_000)  # 560,000
    inv_u2 = await invoice(db, usd, issue=d(3), seat_minor=10_000)  # 11,200
    await payment(db, usd, on=d(9), amount_minor=300_000, method="stripe", allocations=[(inv_u, 300_000, 0, None)])
    await payment(db, usd, on=d(11), amount_minor=280_000, method="card", allocations=[(inv_u, 232_000, 28_000, None)])
    # February's payment, applied in March: only the application is March's
    await payment(db, usd, on=date(y, 2, 27), amount_minor=99_000, allocations=[(inv_u2, 11_200, 0, d(4))])
    await refund(db, usd, on=d(28), amount_minor=48_000, method="card")
    return {"php": php, "usd": usd, "inv1": inv1, "inv2": inv2, "inv3": inv3, "cn": cn, "inv_u": inv_u, "inv_u2": inv_u2}


def _of(rows: list[JournalLine], party: Party) -> list[JournalLine]:
    name = party.client["legal_name"]
    return [r for r in rows if r.account.endswith(f":{name}") or r.account.endswith(f":{party.site['code']}")]


def _balance(rows: list[JournalLine], account: str) -> int:
    return sum(r.debit_minor - r.credit_minor for r in rows if r.account == account)


async def test_a_month_with_every_kind_of_entry_balances_per_currency(
    staff: Api, db: asyncpg.Pool, maker: async_sessionmaker[AsyncSession], fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await _month_with_everything(staff, db, y)
    php, usd = w["php"], w["usd"]
    async with maker() as session, session.begin():
        rows = await journal_rows(await driver(session), Month(y, 3))
    assert rows
    # balanced to zero in each currency, and each entry in one currency
    for cur, (debits, credits) in totals_by_currency(rows).items():
        assert debits == credits, cur
    entries: dict[tuple[date, str, str], set[str]] = defaultdict(set)
    for r in rows:
        entries[(r.date, r.entry, r.reference)].add(r.currency)
    assert all(len(c) == 1 for c in entries.values())
    assert {r.currency for r in rows if r in _of(rows, php)} == {"PHP"}
    assert {r.currency for r in rows if r in _of(rows, usd)} == {"USD"}

    pc, uc = php.client["legal_name"], usd.client["legal_name"]
    ar, credit, wht = f"Accounts receivable:{pc}", f"Customer credit:{pc}", f"Creditable withholding tax:{pc}"

    def lines(entry_prefix: str, ref: str | None = None) -> list[tuple[str, str, int, int]]:
        return sorted(
            (r.account_code, r.account, r.debit_minor, r.credit_minor)
            for r in rows
            if r.entry.startswith(entry_prefix) and (ref is None or r.reference == ref)
        )

    code = php.site["code"]
    assert lines("invoice", w["inv1"]["number"]) == sorted(
        [
            ("1200", ar, 162_000, 0),
            ("4000", f"Revenue:{code}", 0, 100_000),
            ("2200", f"Tax payable:{code}", 0, 12_000),
            ("2300", f"Deposits held:{code}", 0, 50_000),
        ]
    )
    # issued and voided in the month: posted, then reversed on the void's day
    assert lines("invoice", w["inv2"]["number"]) == sorted(
        [("1200", ar, 22_400, 0), ("4000", f"Revenue:{code}", 0, 20_000), ("2200", f"Tax payable:{code}", 0, 2_400)]
    )
    assert lines("void", w["inv2"]["number"]) == sorted(
        [("1200", ar, 0, 22_400), ("4000", f"Revenue:{code}", 20_000, 0), ("2200", f"Tax payable:{code}", 2_400, 0)]
    )
    assert lines("credit note", w["cn"]) == sorted(
        [("1200", ar, 0, 11_200), ("4000", f"Revenue:{code}", 10_000, 0), ("2200", f"Tax payable:{code}", 1_200, 0)]
    )
    # the bank payment: cash by its method, receivable for what it paid that day, the rest customer credit
    bank = [r for r in rows if r.entry == f"payment bank transfer for {w['inv1']['number']}"]
    assert sorted((r.account_code, r.account, r.debit_minor, r.credit_minor) for r in bank) == sorted(
        [("1010", "Cash:Bank", 200_000, 0), ("1200", ar, 0, 145_800), ("2400", credit, 0, 54_200)]
    )
    assert lines("tax withheld", w["inv1"]["number"]) == sorted([("1400", wht, 5_000, 0), ("1200", ar, 0, 5_000)])
    assert lines("credit applied", w["inv3"]["number"]) == sorted([("2400", credit, 33_600, 0), ("1200", ar, 0, 33_600)])
    assert lines("payment cheque (on account)") == sorted([("1010", "Cash:Bank", 12_345, 0), ("2400", credit, 0, 12_345)])
    assert sorted(
        (r.account, r.debit_minor, r.credit_minor) for r in rows if r.entry == "refund of credit" and r.currency == "PHP"
    ) == [
        ("Cash:On hand", 0, 10_000),
        (credit, 10_000, 0),
    ]
    # a held cheque and a void payment post nothing
    amounts = {r.debit_minor for r in rows} | {r.credit_minor for r in rows}
    assert 77_777 not in amounts
    assert 66_666 not in amounts
    # what is left: inv1 settled (162,000 - 11,200 credit - 145,800 - 5,000), inv3 settled, the credit balance
    # is what was received and not applied, less the refund
    assert _balance(rows, ar) == 0
    assert -_balance(rows, credit) == (200_000 - 145_800 - 33_600) + 12_345 - 10_000
    assert _balance(rows, wht) == 5_000

    uar, ucredit = f"Accounts receivable:{uc}", f"Customer credit:{uc}"
    stripe = [r for r in rows if r.currency == "USD" and r.entry.startswith("payment stripe")]
    assert sorted((r.account, r.debit_minor, r.credit_minor) for r in stripe) == [
        ("Accounts receivable:" + uc, 0, 300_000),
        ("Cash:Stripe clearing", 300_000, 0),
    ]
    card = [r for r in rows if r.currency == "USD" and r.entry.startswith("payment card")]
    assert sorted((r.account_code, r.debit_minor, r.credit_minor) for r in card) == sorted(
        [("1030", 280_000, 0), ("1200", 0, 232_000), ("2400", 0, 48_000)]
    )
    # February's money applied in March: only the application, no cash
    assert lines("credit applied", w["inv_u2"]["number"]) == sorted([("2400", ucredit, 11_200, 0), ("1200", uar, 0, 11_200)])
    assert not [r for r in rows if r.currency == "USD" and r.debit_minor == 99_000]
    assert _balance(rows, uar) == 0  # both USD invoices settled
    assert _balance(rows, ucredit) == 11_200  # February's credit used in March; the card's 48,000 refunded


async def test_the_chart_of_accounts_maps_roles_to_codes_and_names(
    staff: Api, db: asyncpg.Pool, maker: async_sessionmaker[AsyncSession], fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await _month_with_everything(staff, db, y)
    chart = parse_chart(
        json.dumps(
            {
                "accounts_receivable": {"code": "110-AR", "name": "Trade debtors"},
                "customer_credit": {"code": "210-UC", "name": "Unapplied cash"},
                "cash_bank_transfer": "100-BDO",
                "withholding_tax": {"name": "CWT receivable"},
            }
        )
    )
    async with maker() as session, session.begin():
        rows = await journal_rows(await driver(session), Month(y, 3), chart)
    pc = w["php"].client["legal_name"]
    bank = {(r.account_code, r.account) for r in rows if r.entry == f"payment bank transfer for {w['inv1']['number']}"}
    assert bank == {("100-BDO", "Cash:Bank"), ("110-AR", f"Trade debtors:{pc}"), ("210-UC", f"Unapplied cash:{pc}")}
    assert {(r.account_code, r.account) for r in rows if r.entry.startswith("tax withheld") and pc in r.account} == {
        ("1400", f"CWT receivable:{pc}"),
        ("110-AR", f"Trade debtors:{pc}"),
    }
    for _cur, (debits, credits) in totals_by_currency(rows).items():
        assert debits == credits


def test_a_bad_chart_is_refused_naming_the_role(tmp_path: Path) -> None:
    for raw, words in (
        ('{"reveune": "4000"}', ['unknown account role "reveune"', "SEATLEASE_CHART_OF_ACCOUNTS"]),
        ('{"revenue": {"code": ""}}', ['"revenue".code', "SEATLEASE_CHART_OF_ACCOUNTS"]),
        ('{"revenue": {"kode": "4000"}}', ['"revenue" has unknown key(s) kode']),
        ('{"revenue": 4000}', ['"revenue" must be an account code']),
        ('{"revenue": ', ["not valid JSON"]),
        ("[1, 2]", ["must be a JSON object"]),
        (str(tmp_path / "missing.json"), ["cannot read the file"]),
    ):
        with pytest.raises(ChartError) as caught:
            parse_chart(raw)
        for word in words:
            assert word in str(caught.value), (raw, str(caught.value))
    path = tmp_path / "chart.json"
    path.write_text('{"revenue": {"code": "4100", "name": "Seat revenue"}}', encoding="utf-8")
    assert parse_chart(str(path))["revenue"].code == "4100"
    assert parse_chart(None)["revenue"].name == "Revenue"


def test_every_command_refuses_to_start_on_a_bad_chart_naming_the_setting(tmp_path: Path) -> None:
    env = {**os.environ, "SEATLEASE_CHART_OF_ACCOUNTS": '{"revenue": {"code": "4000"}, "cash_bitcoin": "1999"}'}
    env.pop("DATABASE_URL", None)
    cli = subprocess.run(
        [sys.executable, "-m", "service.cli", "statements", "export", "--period", "2040-01", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip().startswith('error: SEATLEASE_CHART_OF_ACCOUNTS: unknown account role "cash_bitcoin"'), cli.stderr
    assert "Traceback" not in cli.stderr
    api = subprocess.run([sys.executable, "-c", "import service.asgi"], capture_output=True, text=True, env=env, timeout=60)
    assert api.returncode == 1
    assert "SEATLEASE_CHART_OF_ACCOUNTS" in api.stderr
    assert "Traceback" not in api.stderr
    env["SEATLEASE_CHART_OF_ACCOUNTS"] = ""
    env["SEATLEASE_DUNNING_DAYS"] = "-3,seven,21"
    bad_days = subprocess.run(
        [sys.executable, "-m", "service.cli", "statements", "export", "--period", "2040-01", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad_days.returncode == 2
    assert "SEATLEASE_DUNNING_DAYS: 'seven' is not a whole number of days" in bad_days.stderr


async def test_the_journal_through_the_api_in_json_and_csv(
    staff: Api, finance: Api, db: asyncpg.Pool, client_login: ClientLogin, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await _month_with_everything(staff, db, y)
    out = await finance.get("/v1/billing/journal", params={"period": f"{y}-03"})
    assert out["columns"][:6] == ["date", "entry", "account_code", "account", "currency", "debit_minor"]
    assert {t["currency"] for t in out["totals"]} >= {"PHP", "USD"}
    for t in out["totals"]:
        assert t["debit_minor"] == t["credit_minor"]
    mine = [line for line in out["lines"] if line["reference"] == w["inv1"]["number"]]
    assert {line["currency"] for line in mine} == {"PHP"}
    r = await finance.call("GET", "/v1/billing/journal", params={"period": f"{y}-03"}, headers={"Accept": "text/csv"}, expect=200)
    assert r.headers["content-type"].startswith("text/csv")
    assert f'filename="journal-{y}-03.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(out["lines"])
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        per[row["currency"]][0] += int(row["debit_minor"])
        per[row["currency"]][1] += int(row["credit_minor"])
    assert all(d == c for d, c in per.values())
    # finance's export: facility staff and clients are refused, a bad period names the field
    await staff.get("/v1/billing/journal", params={"period": f"{y}-03"}, expect=403)
    client = await client_login(w["php"].client["id"])
    await client.get("/v1/billing/journal", params={"period": f"{y}-03"}, expect=403)
    bad = await finance.call("GET", "/v1/billing/journal", params={"period": "2040-13"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "period" in bad.text


async def test_the_cli_prints_the_journal_totals_per_currency_never_a_sum(
    staff: Api, db: asyncpg.Pool, database_url: str, fresh_year: Callable[..., int], tmp_path: Path, capsys: Any
) -> None:
    y = fresh_year()
    await _month_with_everything(staff, db, y)
    code = await asyncio.to_thread(statements_export_command, database_url, f"{y}-03", str(tmp_path / "out"))
    assert code == 0
    printed = capsys.readouterr().out
    per_currency = [line.strip() for line in printed.splitlines() if line.startswith("  ")]
    assert [line.split(":")[0] for line in per_currency] == ["PHP", "USD"]
    for line in per_currency:
        cur = line.split(":")[0]
        debits, credits = line.split(": debits ")[1].split(" = credits ")
        assert debits == credits
        assert debits.startswith(f"{cur} ")
    # the old line added PHP and USD together into one "debits N = credits N"
    assert "debits" not in printed.splitlines()[0]


async def test_a_billing_run_from_the_cli_prints_what_it_invoiced_per_currency(
    staff: Api, db: asyncpg.Pool, database_url: str, fresh_year: Callable[..., int], capsys: Any
) -> None:
    y = fresh_year()
    for currency, timezone in (("PHP", "Asia/Manila"), ("USD", "America/Chicago")):
        w = await make_world(staff, currency=currency, timezone=timezone, seats_per_zone=2)
        await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-05-01", seat_count=1))
    code = await asyncio.to_thread(billing_run_command, database_url, f"{y}-05")
    assert code == 0
    printed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    expected = await db.fetch(
        """SELECT currency, sum(total_minor)::bigint AS total, count(*) AS n FROM invoices
           WHERE period = $1 AND status NOT IN ('draft', 'void') GROUP BY currency ORDER BY currency""",
        f"{y}-05",
    )
    assert {r["currency"] for r in expected} >= {"PHP", "USD"}
    assert printed == [f"{r['currency']}: {r['n']} invoice(s), {format_money(r['total'], r['currency'])}" for r in expected]
