"""The month's double-entry journal export: invoices issued, voids, credit notes and payments, as lines
that balance to zero per currency."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from billing.facts import Month

JOURNAL_HEADER = ["date", "entry", "account", "currency", "debit_minor", "credit_minor", "reference"]


async def journal_rows(conn: Any, month: Month) -> list[list[Any]]:
    """Double-entry lines of the month: invoices issued, voids, credit notes, payments. Balances to zero
    per currency."""
    first, last = month.first, month.last
    out: list[list[Any]] = []
    invs = await conn.fetch(
        """SELECT i.id, i.number_label, i.issue_date, i.currency, i.total_minor, i.tax_minor, s.code, c.legal_name,
                  i.status, (i.voided_at AT TIME ZONE s.timezone)::date AS voided_on,
                  coalesce(sum(l.amount_minor) FILTER (WHERE l.kind = 'deposit'), 0)::bigint AS deposit_minor,
                  coalesce(sum(l.amount_minor) FILTER (WHERE l.kind <> 'deposit'), 0)::bigint AS revenue_minor
           FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
           LEFT JOIN invoice_lines l ON l.invoice_id = i.id
           WHERE i.status <> 'draft' AND (i.issue_date BETWEEN $1 AND $2
                 OR (i.status = 'void' AND (i.voided_at AT TIME ZONE s.timezone)::date BETWEEN $1 AND $2))
           GROUP BY i.id, s.code, s.timezone, c.legal_name ORDER BY i.issue_date, i.number_label""",
        first,
        last,
    )
    for i in invs:
        parts = [
            (f"Accounts receivable:{i['legal_name']}", i["total_minor"], 0),
            (f"Revenue:{i['code']}", 0, i["revenue_minor"]),
            (f"Tax payable:{i['code']}", 0, i["tax_minor"]),
            (f"Deposits held:{i['code']}", 0, i["deposit_minor"]),
        ]
        if first <= i["issue_date"] <= last:
            out += _entries(i["issue_date"], f"invoice {i['number_label']}", i["currency"], parts, i["number_label"])
        if i["status"] == "void" and i["voided_on"] and first <= i["voided_on"] <= last:
            out += _entries(
                i["voided_on"], f"void {i['number_label']}", i["currency"], [(a, c, d) for a, d, c in parts], i["number_label"]
            )
    for n in await conn.fetch(
        """SELECT cn.number_label, cn.kind, cn.issue_date, cn.currency, cn.amount_minor, cn.tax_minor, cn.total_minor,
                  s.code, c.legal_name FROM credit_notes cn JOIN sites s ON s.id = cn.site_id
           JOIN clients c ON c.id = cn.client_id
           WHERE cn.status = 'issued' AND cn.issue_date BETWEEN $1 AND $2 ORDER BY cn.issue_date, cn.number_label""",
        first,
        last,
    ):
        base = f"Deposits held:{n['code']}" if n["kind"] == "deposit_refund" else f"Revenue:{n['code']}"
        out += _entries(
            n["issue_date"],
            f"credit note {n['number_label']}",
            n["currency"],
            [
                (base, n["amount_minor"], 0),
                (f"Tax payable:{n['code']}", n["tax_minor"], 0),
                (f"Accounts receivable:{n['legal_name']}", 0, n["total_minor"]),
            ],
            n["number_label"],
        )
    for p in await conn.fetch(
        """SELECT p.paid_on, p.currency, p.amount_minor, c.legal_name,
                  coalesce((SELECT string_agg(i.number_label, ', ' ORDER BY i.number_label) FROM payment_allocations a
                            JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = p.id), p.reference) AS number_label
           FROM payments p JOIN clients c ON c.id = p.client_id
           WHERE p.status = 'cleared' AND p.paid_on BETWEEN $1 AND $2 ORDER BY p.paid_on""",
        first,
        last,
    ):
        out += _entries(
            p["paid_on"],
            f"payment {p['number_label']}",
            p["currency"],
            [("Cash:Stripe clearing", p["amount_minor"], 0), (f"Accounts receivable:{p['legal_name']}", 0, p["amount_minor"])],
            p["number_label"],
        )
    return out


def _entries(day: date, entry: str, currency: str, parts: list[tuple[str, int, int]], ref: str) -> list[list[Any]]:
    rows = []
    for account, debit, credit in parts:
        # a negative amount (a net-credit invoice) moves to the other side, so both columns stay >= 0
        if debit < 0:
            debit, credit = 0, credit - debit
        if credit < 0:
            debit, credit = debit - credit, 0
        if debit or credit:
            rows.append([day, entry, account, currency, debit, credit, ref])
    return rows


def journal_csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(JOURNAL_HEADER)
    w.writerows(rows)
    return buf.getvalue()
