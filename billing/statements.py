"""Statements (JSON, CSV, PDF), AR aging and the double-entry journal export.

Documents are dated on the issuer's calendar: an invoice by its issue date (the first day of
the month it bills, in advance), a credit note by its issue date, a payment by the day it
settled. A statement for a month shows the balance brought forward, that month's documents,
the balance carried forward and the aging of what is still open at the month's end."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from billing.calc import Month
from domain.rules.money import minor_unit_exponent

BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "over_90"


def major(amount_minor: int, currency: str) -> str:
    exp = minor_unit_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exp):.{exp}f}"


OPEN_ITEMS_SQL = """
SELECT i.id, i.client_id, i.currency, i.number_label, i.issue_date, i.due_date, i.total_minor,
       (i.total_minor
       - coalesce((SELECT sum(c.total_minor) FROM credit_notes c
                   WHERE c.invoice_id = i.id AND c.status = 'issued' AND c.issue_date <= $1), 0)
       - coalesce((SELECT sum(p.amount_minor) FROM payments p WHERE p.invoice_id = i.id AND p.paid_on <= $1), 0)
         )::bigint AS outstanding_minor
FROM invoices i
WHERE i.status IN ('issued', 'paid') AND i.issue_date <= $1 AND ($2::uuid IS NULL OR i.client_id = $2)
"""


async def open_items(conn: Any, as_of: date, client_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(OPEN_ITEMS_SQL, as_of, client_id)
    out = []
    for r in rows:
        if r["outstanding_minor"] == 0:
            continue
        d = dict(r)
        d["days_past_due"] = (as_of - r["due_date"]).days
        d["bucket"] = bucket_for(d["days_past_due"])
        out.append(d)
    return out


def aging_of(items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Buckets per currency."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        b = out.setdefault(it["currency"], dict.fromkeys(BUCKETS, 0) | {"total": 0})
        b[it["bucket"]] += it["outstanding_minor"]
        b["total"] += it["outstanding_minor"]
    return out


async def ar_aging(conn: Any, as_of: date) -> dict[str, Any]:
    items = await open_items(conn, as_of)
    names = {
        r["id"]: r["legal_name"]
        for r in await conn.fetch(
            "SELECT id, legal_name FROM clients WHERE id = ANY($1::uuid[])", list({i["client_id"] for i in items})
        )
    }
    per_client: dict[tuple[uuid.UUID, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0) | {"total": 0})
    for it in items:
        b = per_client[(it["client_id"], it["currency"])]
        b[it["bucket"]] += it["outstanding_minor"]
        b["total"] += it["outstanding_minor"]
    return {
        "as_of": as_of,
        "buckets": list(BUCKETS),
        "totals": [{"currency": c, **v} for c, v in sorted(aging_of(items).items())],
        "clients": [
            {"client_id": cid, "legal_name": names.get(cid, ""), "currency": cur, **v}
            for (cid, cur), v in sorted(per_client.items(), key=lambda kv: (kv[0][1], names.get(kv[0][0], "")))
        ],
    }


async def statement(conn: Any, client_id: uuid.UUID, month: Month) -> dict[str, Any]:
    """Everything a statement shows, per currency."""
    client = await conn.fetchrow(
        "SELECT id, legal_name, billing_email, tax_id, payment_terms_days FROM clients WHERE id = $1", client_id
    )
    first, last = month.first, month.last
    invoices = await conn.fetch(
        """SELECT i.*, s.code AS site_code, s.name AS site_name FROM invoices i JOIN sites s ON s.id = i.site_id
           WHERE i.client_id = $1 AND i.status <> 'draft' AND i.issue_date BETWEEN $2 AND $3
           ORDER BY i.currency, i.issue_date, i.number_label""",
        client_id,
        first,
        last,
    )
    lines: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT invoice_id, position, kind, trueup, description, quantity, unit_price_minor, days, period_days,
                  amount_minor, tax_minor FROM invoice_lines WHERE invoice_id = ANY($1::uuid[])
           ORDER BY invoice_id, position""",
        [i["id"] for i in invoices],
    ):
        # an asyncpg Record iterates over its values, not its keys
        lines[r["invoice_id"]].append({k: r[k] for k in r.keys() if k != "invoice_id"})  # noqa: SIM118
    notes = await conn.fetch(
        """SELECT c.id, c.number_label, c.kind, c.reason, c.currency, c.issue_date, c.amount_minor, c.tax_minor,
                  c.total_minor, i.number_label AS invoice_number
           FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
           WHERE c.client_id = $1 AND c.status = 'issued' AND c.issue_date BETWEEN $2 AND $3
           ORDER BY c.issue_date, c.number_label""",
        client_id,
        first,
        last,
    )
    payments = await conn.fetch(
        """SELECT p.id, p.currency, p.paid_on, p.amount_minor, i.number_label AS invoice_number
           FROM payments p JOIN invoices i ON i.id = p.invoice_id
           WHERE p.client_id = $1 AND p.paid_on BETWEEN $2 AND $3 ORDER BY p.paid_on""",
        client_id,
        first,
        last,
    )
    opening = {
        r["currency"]: int(r["balance"])
        for r in await conn.fetch(
            """SELECT currency, sum(amount) AS balance FROM (
             SELECT currency, total_minor AS amount FROM invoices
               WHERE client_id = $1 AND status IN ('issued','paid') AND issue_date < $2
             UNION ALL SELECT currency, -total_minor FROM credit_notes
               WHERE client_id = $1 AND status = 'issued' AND issue_date < $2
             UNION ALL SELECT currency, -amount_minor FROM payments WHERE client_id = $1 AND paid_on < $2) x
           GROUP BY currency""",
            client_id,
            first,
        )
    }
    aging = aging_of(await open_items(conn, last, client_id))
    currencies = sorted(
        set(opening)
        | {i["currency"] for i in invoices}
        | {n["currency"] for n in notes}
        | {p["currency"] for p in payments}
        | set(aging)
    )
    sections = []
    for cur in currencies:
        inv = [i for i in invoices if i["currency"] == cur]
        invoiced = sum(i["total_minor"] for i in inv if i["status"] != "void")
        credited = sum(n["total_minor"] for n in notes if n["currency"] == cur)
        paid = sum(p["amount_minor"] for p in payments if p["currency"] == cur)
        open_ = opening.get(cur, 0)
        sections.append(
            {
                "currency": cur,
                "opening_balance_minor": open_,
                "invoiced_minor": invoiced,
                "credited_minor": credited,
                "paid_minor": paid,
                "closing_balance_minor": open_ + invoiced - credited - paid,
                "invoices": [
                    {
                        "id": i["id"],
                        "number": i["number_label"],
                        "site_code": i["site_code"],
                        "period": i["period"],
                        "status": i["status"],
                        "issue_date": i["issue_date"],
                        "due_date": i["due_date"],
                        "subtotal_minor": i["subtotal_minor"],
                        "tax_minor": i["tax_minor"],
                        "total_minor": i["total_minor"],
                        "lines": lines[i["id"]],
                    }
                    for i in inv
                ],
                "credit_notes": [
                    {
                        k: n[k]
                        for k in (
                            "id",
                            "number_label",
                            "kind",
                            "reason",
                            "issue_date",
                            "amount_minor",
                            "tax_minor",
                            "total_minor",
                            "invoice_number",
                        )
                    }
                    for n in notes
                    if n["currency"] == cur
                ],
                "payments": [
                    {k: p[k] for k in ("id", "paid_on", "amount_minor", "invoice_number")}
                    for p in payments
                    if p["currency"] == cur
                ],
                "aging": aging.get(cur, dict.fromkeys(BUCKETS, 0) | {"total": 0}),
            }
        )
    return {
        "client": {
            "id": client["id"],
            "legal_name": client["legal_name"],
            "billing_email": client["billing_email"],
            "tax_id": client["tax_id"],
        },
        "period": str(month),
        "period_start": first,
        "period_end": last,
        "currencies": sections,
    }


CSV_HEADER = [
    "currency",
    "section",
    "date",
    "document",
    "description",
    "quantity",
    "unit_price",
    "days",
    "period_days",
    "amount",
    "tax",
    "total",
    "balance",
]


def statement_csv(st: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for sec in st["currencies"]:
        cur = sec["currency"]
        bal = sec["opening_balance_minor"]
        w.writerow(
            [
                cur,
                "opening_balance",
                st["period_start"],
                "",
                "Balance brought forward",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                major(bal, cur),
            ]
        )
        for inv in sec["invoices"]:
            counted = inv["status"] != "void"
            bal += inv["total_minor"] if counted else 0
            w.writerow(
                [
                    cur,
                    "invoice",
                    inv["issue_date"],
                    inv["number"],
                    f"Invoice {inv['period']} ({inv['site_code']}){'' if counted else ' VOID'}",
                    "",
                    "",
                    "",
                    "",
                    major(inv["subtotal_minor"], cur),
                    major(inv["tax_minor"], cur),
                    major(inv["total_minor"], cur),
                    major(bal, cur),
                ]
            )
            for ln in inv["lines"]:
                w.writerow(
                    [
                        cur,
                        "line",
                        "",
                        inv["number"],
                        ln["description"],
                        ln["quantity"],
                        major(ln["unit_price_minor"], cur),
                        ln["days"] if ln["days"] is not None else "",
                        ln["period_days"] or "",
                        major(ln["amount_minor"], cur),
                        major(ln["tax_minor"], cur),
                        major(ln["amount_minor"] + ln["tax_minor"], cur),
                        "",
                    ]
                )
        for cn in sec["credit_notes"]:
            bal -= cn["total_minor"]
            w.writerow(
                [
                    cur,
                    "credit_note",
                    cn["issue_date"],
                    cn["number_label"],
                    f"Credit note on {cn['invoice_number']}: {cn['reason']}",
                    "",
                    "",
                    "",
                    "",
                    major(-cn["amount_minor"], cur),
                    major(-cn["tax_minor"], cur),
                    major(-cn["total_minor"], cur),
                    major(bal, cur),
                ]
            )
        for p in sec["payments"]:
            bal -= p["amount_minor"]
            w.writerow(
                [
                    cur,
                    "payment",
                    p["paid_on"],
                    p["invoice_number"],
                    "Payment received",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    major(-p["amount_minor"], cur),
                    major(bal, cur),
                ]
            )
        w.writerow(
            [
                cur,
                "closing_balance",
                st["period_end"],
                "",
                "Balance carried forward",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                major(sec["closing_balance_minor"], cur),
            ]
        )
        for b in BUCKETS:
            w.writerow([cur, "aging", st["period_end"], "", b, "", "", "", "", "", "", major(sec["aging"][b], cur), ""])
    return buf.getvalue()


def statement_pdf(st: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Statement {st['period']} {st['client']['legal_name']}",
    )
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ]
    )
    c = st["client"]
    story: list[Any] = [
        Paragraph(f"Statement of account — {st['period']}", styles["Title"]),
        Paragraph(
            f"<b>{_esc(c['legal_name'])}</b><br/>Tax id: {_esc(c['tax_id'] or '-')}<br/>"
            f"Billing e-mail: {_esc(c['billing_email'])}<br/>"
            f"Period: {st['period_start']} to {st['period_end']}",
            styles["BodyText"],
        ),
        Spacer(1, 6 * mm),
    ]
    if not st["currencies"]:
        story.append(Paragraph("No activity and no balance in this period.", styles["BodyText"]))
    for sec in st["currencies"]:
        cur = sec["currency"]
        story.append(Paragraph(f"Account in {cur}", styles["Heading2"]))
        summary = [
            ["Opening balance", "Invoiced", "Credited", "Paid", "Closing balance"],
            [
                major(sec["opening_balance_minor"], cur),
                major(sec["invoiced_minor"], cur),
                major(sec["credited_minor"], cur),
                major(sec["paid_minor"], cur),
                major(sec["closing_balance_minor"], cur),
            ],
        ]
        story += [Table(summary, style=grid, hAlign="LEFT"), Spacer(1, 4 * mm)]
        for inv in sec["invoices"]:
            story.append(
                Paragraph(
                    f"Invoice {inv['number']} — site {inv['site_code']} — issued {inv['issue_date']}, due {inv['due_date']}"
                    f" — {inv['status']}",
                    styles["Heading4"],
                )
            )
            rows: list[list[Any]] = [["Description", "Qty", "Unit", "Days", "Amount", "Tax"]]
            for ln in inv["lines"]:
                days = f"{ln['days']}/{ln['period_days']}" if ln["days"] is not None and ln["period_days"] else ""
                rows.append(
                    [
                        Paragraph(_esc(ln["description"]), small),
                        ln["quantity"],
                        major(ln["unit_price_minor"], cur),
                        days,
                        major(ln["amount_minor"], cur),
                        major(ln["tax_minor"], cur),
                    ]
                )
            rows.append(["Total", "", "", "", major(inv["subtotal_minor"], cur), major(inv["tax_minor"], cur)])
            rows.append(["Total due", "", "", "", "", major(inv["total_minor"], cur)])
            story += [
                Table(rows, colWidths=[85 * mm, 12 * mm, 22 * mm, 15 * mm, 24 * mm, 22 * mm], style=grid, repeatRows=1),
                Spacer(1, 3 * mm),
            ]
        if sec["credit_notes"]:
            story.append(Paragraph("Credit notes", styles["Heading4"]))
            rows = [["Number", "Date", "Invoice", "Reason", "Total"]] + [
                [
                    n["number_label"],
                    str(n["issue_date"]),
                    n["invoice_number"],
                    Paragraph(_esc(n["reason"]), small),
                    major(n["total_minor"], cur),
                ]
                for n in sec["credit_notes"]
            ]
            story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
        if sec["payments"]:
            story.append(Paragraph("Payments", styles["Heading4"]))
            rows = [["Date", "Invoice", "Amount"]] + [
                [str(p["paid_on"]), p["invoice_number"], major(p["amount_minor"], cur)] for p in sec["payments"]
            ]
            story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
        story.append(Paragraph(f"Aging at {st['period_end']}", styles["Heading4"]))
        a = sec["aging"]
        story += [
            Table(
                [
                    ["Current", "1–30", "31–60", "61–90", "90+", "Total"],
                    [major(a[b], cur) for b in BUCKETS] + [major(a["total"], cur)],
                ],
                style=grid,
                hAlign="LEFT",
            ),
            Spacer(1, 6 * mm),
        ]
    doc.build(story)
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
        """SELECT p.paid_on, p.currency, p.amount_minor, i.number_label, c.legal_name FROM payments p
           JOIN invoices i ON i.id = p.invoice_id JOIN clients c ON c.id = p.client_id
           WHERE p.paid_on BETWEEN $1 AND $2 ORDER BY p.paid_on""",
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
