"""The month's double-entry journal export, posted to the configured chart of accounts (billing/chart.py).

Entries, each balanced in its own currency (so the month balances to zero per currency, and no line
ever mixes two currencies):

- an invoice issued: Dr receivable; Cr revenue, tax payable and deposits held. A void reverses it on
  its day; a credit note: Dr revenue (or deposits held for a deposit refund) and tax; Cr receivable.
- a payment (cleared only — a held post-dated cheque, or one voided before it cleared, posts nothing):
  Dr the cash account of its method for what was received; Cr receivable for what it paid on its day
  (its allocations made by then), Cr customer credit (the client's credit balance) for the rest.
- a cleared payment voided later (a bounced cheque): its month keeps it as posted; on the void's day
  Dr receivable for all it paid and had withheld, Dr customer credit for the rest; Cr the cash
  account, Cr creditable withholding tax. A month once exported does not change.
- credit applied later (an allocation dated after its payment): Dr customer credit; Cr receivable.
- tax the client withheld on an invoice: Dr creditable withholding tax; Cr receivable.
- a refund of credit: Dr customer credit; Cr the cash account of its method.

An allocation counts on the later of its own date and its payment's (a post-dated cheque pays on its
date), as AR aging and statements count it."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing.chart import Account, ChartOfAccounts
from billing.facts import Month
from billing.posting import POSTED, REVERSED

JOURNAL_HEADER = ["date", "entry", "account_code", "account", "currency", "debit_minor", "credit_minor", "reference"]


class JournalLine(NamedTuple):
    date: date
    entry: str
    account_code: str
    account: str
    currency: str
    debit_minor: int
    credit_minor: int
    reference: str


# (account, subledger: a client's name or a site's code, or "" for none), debit, credit
Part = tuple[Account, str, int, int]

INVOICES_SQL = """
SELECT i.id, i.number_label, i.issue_date, i.currency, i.total_minor, i.tax_minor, s.code, c.legal_name,
       i.status, (i.voided_at AT TIME ZONE s.timezone)::date AS voided_on,
       coalesce(sum(l.amount_minor) FILTER (WHERE l.kind = 'deposit'), 0)::bigint AS deposit_minor,
       coalesce(sum(l.amount_minor) FILTER (WHERE l.kind <> 'deposit'), 0)::bigint AS revenue_minor
FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
LEFT JOIN invoice_lines l ON l.invoice_id = i.id
WHERE i.status <> 'draft' AND (i.issue_date BETWEEN $1 AND $2
      OR (i.status = 'void' AND (i.voided_at AT TIME ZONE s.timezone)::date BETWEEN $1 AND $2))
GROUP BY i.id, s.code, s.timezone, c.legal_name ORDER BY i.issue_date, i.number_label
"""

CREDIT_NOTES_SQL = """
SELECT cn.number_label, cn.kind, cn.issue_date, cn.currency, cn.amount_minor, cn.tax_minor, cn.total_minor,
       s.code, c.legal_name FROM credit_notes cn JOIN sites s ON s.id = cn.site_id JOIN clients c ON c.id = cn.client_id
WHERE cn.status = 'issued' AND cn.issue_date BETWEEN $1 AND $2 ORDER BY cn.issue_date, cn.number_label
"""

# a payment the journal posted: cleared, or cleared then voided (its void is an entry of its own)

# a cleared payment of the month with what its allocations paid on its own day (the rest is credit)
PAYMENTS_SQL = f"""
SELECT p.id, p.paid_on, p.currency, p.amount_minor, p.method, p.reference, c.legal_name,
       coalesce(sum(a.amount_minor) FILTER (WHERE a.allocated_on <= p.paid_on), 0)::bigint AS applied_minor,
       string_agg(i.number_label, ', ' ORDER BY i.number_label) FILTER (WHERE a.allocated_on <= p.paid_on) AS labels
FROM payments p JOIN clients c ON c.id = p.client_id
LEFT JOIN payment_allocations a ON a.payment_id = p.id LEFT JOIN invoices i ON i.id = a.invoice_id
WHERE {POSTED} AND p.paid_on BETWEEN $1 AND $2
GROUP BY p.id, c.legal_name ORDER BY p.paid_on, p.created_at, p.id
"""

# allocations of cleared payments that post on their own: credit applied after the payment's day,
# and tax withheld (whenever it was allocated)
ALLOCATIONS_SQL = f"""
SELECT greatest(a.allocated_on, p.paid_on) AS on_day, a.allocated_on > p.paid_on AS later, a.amount_minor,
       a.withheld_minor, p.currency, c.legal_name, i.number_label
FROM payment_allocations a JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id
JOIN clients c ON c.id = p.client_id
WHERE {POSTED} AND greatest(a.allocated_on, p.paid_on) BETWEEN $1 AND $2
  AND (a.allocated_on > p.paid_on OR a.withheld_minor > 0)
ORDER BY on_day, i.number_label, a.created_at, a.id
"""

# a posted payment voided in the month, with everything its allocations paid and had withheld
VOIDED_PAYMENTS_SQL = f"""
SELECT p.id, p.voided_on, p.currency, p.amount_minor, p.method, p.reference, c.legal_name,
       coalesce(sum(a.amount_minor), 0)::bigint AS applied_minor, coalesce(sum(a.withheld_minor), 0)::bigint AS withheld_minor
FROM payments p JOIN clients c ON c.id = p.client_id LEFT JOIN payment_allocations a ON a.payment_id = p.id
WHERE {REVERSED} AND p.voided_on BETWEEN $1 AND $2
GROUP BY p.id, c.legal_name ORDER BY p.voided_on, p.created_at, p.id
"""

REFUNDS_SQL = """
SELECT r.refunded_on, r.currency, r.amount_minor, r.method, r.reference, c.legal_name
FROM credit_refunds r JOIN clients c ON c.id = r.client_id
WHERE r.refunded_on BETWEEN $1 AND $2 ORDER BY r.refunded_on, r.created_at, r.id
"""


async def journal_rows(conn: Any, month: Month, chart: ChartOfAccounts | None = None) -> list[JournalLine]:
    """Double-entry lines of the month (see the module's docstring); balances to zero per currency."""
    chart = chart or ChartOfAccounts()
    ar, revenue, tax, deposits = (
        chart["accounts_receivable"],
        chart["revenue"],
        chart["tax_payable"],
        chart["deposits_held"],
    )
    credit, withheld = chart["customer_credit"], chart["withholding_tax"]
    first, last = month.first, month.last
    out: list[JournalLine] = []
    for i in await conn.fetch(INVOICES_SQL, first, last):
        parts: list[Part] = [
            (ar, i["legal_name"], i["total_minor"], 0),
            (revenue, i["code"], 0, i["revenue_minor"]),
            (tax, i["code"], 0, i["tax_minor"]),
            (deposits, i["code"], 0, i["deposit_minor"]),
        ]
        label = i["number_label"]
        if first <= i["issue_date"] <= last:
            out += _entries(i["issue_date"], f"invoice {label}", i["currency"], parts, label)
        if i["status"] == "void" and i["voided_on"] and first <= i["voided_on"] <= last:
            reversed_ = [(a, sub, c, d) for a, sub, d, c in parts]
            out += _entries(i["voided_on"], f"void {label}", i["currency"], reversed_, label)
    for n in await conn.fetch(CREDIT_NOTES_SQL, first, last):
        base = deposits if n["kind"] == "deposit_refund" else revenue
        parts = [
            (base, n["code"], n["amount_minor"], 0),
            (tax, n["code"], n["tax_minor"], 0),
            (ar, n["legal_name"], 0, n["total_minor"]),
        ]
        out += _entries(n["issue_date"], f"credit note {n['number_label']}", n["currency"], parts, n["number_label"])
    for p in await conn.fetch(PAYMENTS_SQL, first, last):
        client, applied = p["legal_name"], p["applied_minor"]
        parts = [
            (chart.cash(p["method"]), "", p["amount_minor"], 0),
            (ar, client, 0, applied),
            (credit, client, 0, p["amount_minor"] - applied),
        ]
        ref = p["reference"] or str(p["id"])
        entry = f"payment {p['method'].replace('_', ' ')}" + (f" for {p['labels']}" if p["labels"] else " (on account)")
        out += _entries(p["paid_on"], entry, p["currency"], parts, ref)
    for a in await conn.fetch(ALLOCATIONS_SQL, first, last):
        client, label = a["legal_name"], a["number_label"]
        if a["later"] and a["amount_minor"]:
            parts = [(credit, client, a["amount_minor"], 0), (ar, client, 0, a["amount_minor"])]
            out += _entries(a["on_day"], f"credit applied to {label}", a["currency"], parts, label)
        if a["withheld_minor"]:
            parts = [(withheld, client, a["withheld_minor"], 0), (ar, client, 0, a["withheld_minor"])]
            out += _entries(a["on_day"], f"tax withheld on {label}", a["currency"], parts, label)
    for v in await conn.fetch(VOIDED_PAYMENTS_SQL, first, last):
        client, applied, held_back = v["legal_name"], v["applied_minor"], v["withheld_minor"]
        parts = [
            (ar, client, applied + held_back, 0),
            (credit, client, v["amount_minor"] - applied, 0),
            (chart.cash(v["method"]), "", 0, v["amount_minor"]),
            (withheld, client, 0, held_back),
        ]
        entry = f"void payment {v['method'].replace('_', ' ')}"
        out += _entries(v["voided_on"], entry, v["currency"], parts, v["reference"] or str(v["id"]))
    for r in await conn.fetch(REFUNDS_SQL, first, last):
        parts = [(credit, r["legal_name"], r["amount_minor"], 0), (chart.cash(r["method"]), "", 0, r["amount_minor"])]
        out += _entries(r["refunded_on"], "refund of credit", r["currency"], parts, r["reference"])
    return out


def _entries(day: date, entry: str, currency: str, parts: list[Part], ref: str) -> list[JournalLine]:
    rows = []
    for account, sub, debit, credit in parts:
        # a negative amount (a net-credit invoice) moves to the other side, so both columns stay >= 0
        if debit < 0:
            debit, credit = 0, credit - debit
        if credit < 0:
            debit, credit = debit - credit, 0
        if debit or credit:
            name = f"{account.name}:{sub}" if sub else account.name
            rows.append(JournalLine(day, entry, account.code, name, currency, debit, credit, ref))
    return rows


def totals_by_currency(rows: list[JournalLine]) -> dict[str, tuple[int, int]]:
    """(debits, credits) per currency, in minor units: never added across currencies."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        out[r.currency][0] += r.debit_minor
        out[r.currency][1] += r.credit_minor
    return {cur: (d, c) for cur, (d, c) in sorted(out.items())}


def _cell(value: Any) -> Any:
    # a client's name or a reference that a spreadsheet would read as a formula stays text
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def journal_csv(rows: list[JournalLine]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(JOURNAL_HEADER)
    w.writerows([_cell(v) for v in r] for r in rows)
    return buf.getvalue()


async def invoiced_in_period(session: AsyncSession, period: str) -> list[tuple[str, int, int]]:
    """(currency, total_minor, invoices) of a billing period's invoices (drafts and voids left out),
    one row per currency: what the CLI prints after a run."""
    rows = await session.execute(
        text(
            """SELECT currency, coalesce(sum(total_minor), 0)::bigint, count(*) FROM invoices
               WHERE period = :period AND status NOT IN ('draft', 'void') GROUP BY currency ORDER BY currency"""
        ),
        {"period": period},
    )
    return [(str(c), int(t), int(n)) for c, t, n in rows.tuples().all()]
