"""A statement (billing/statements.py) rendered as CSV and as PDF, amounts in major units."""

from __future__ import annotations

import csv
import io
from typing import Any

from billing.aging import BUCKETS
from billing.doc_kit import PdfPage, major, pdf_page

__all__ = ["PdfPage", "major", "pdf_page", "statement_csv", "statement_pdf"]


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
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    page = pdf_page(f"Statement {st['period']} {st['client']['legal_name']}")
    styles, small, grid = page.styles, page.small, page.grid
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
    return page.render(story)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
