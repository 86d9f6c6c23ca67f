"""A statement (billing/statements.py) rendered as CSV and as PDF.

The same figures in every format, each in its format's units: the JSON of the API in integer minor
units (`*_minor`, the statement itself), the CSV in major units without grouping (a machine reads it
back) with the currency on every row, the PDF in major units as people read them (billing/doc_kit.py
`amount`). File names carry the client and the period: `statement-2026-11-northwind-contact.pdf`."""

from __future__ import annotations

import csv
import io
from typing import Any

from billing.aging import BUCKETS
from billing.doc_kit import PdfPage, amount, esc, issuer_lines, major, pct, pdf_page, slug

__all__ = ["PdfPage", "major", "pdf_page", "statement_csv", "statement_filename", "statement_pdf", "statement_stem"]

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

BUCKET_NAMES = {"current": "Current", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90", "over_90": "90+"}
TREATMENTS = {"standard": "Standard rate", "zero_rated": "Zero-rated", "exempt": "Exempt"}


def statement_stem(st: dict[str, Any]) -> str:
    """`statement-<period>-<slug of the client's legal name>`."""
    return f"statement-{st['period']}-{slug(st['client']['legal_name'])}"


def statement_filename(st: dict[str, Any], ext: str) -> str:
    return f"{statement_stem(st)}.{ext}"


def returned_text(x: dict[str, Any], cur: str, money: Any = major) -> str:
    """A cleared payment voided later: "Payment returned (cheque 1234): 1000.00, tax withheld 50.00 reversed"."""
    text = f"Payment returned ({_method(x)}): {money(x['amount_minor'], cur)}"
    if x["withheld_minor"]:
        text += f", tax withheld {money(x['withheld_minor'], cur)} reversed"
    return text


def payment_applied(p: dict[str, Any], cur: str, money: Any = major) -> str:
    """What a payment paid: "MNL1-000001 1000.00 (withheld 50.00); unallocated 200.00"."""
    parts = []
    for a in p["allocations"]:
        text = f"{a['invoice_number']} {money(a['amount_minor'], cur)}"
        if a["withheld_minor"]:
            text += f" (withheld {money(a['withheld_minor'], cur)})"
        parts.append(text)
    if p["unallocated_minor"]:
        parts.append(f"unallocated {money(p['unallocated_minor'], cur)}")
    return "; ".join(parts)


def _method(p: dict[str, Any]) -> str:
    text = str(p["method"]).replace("_", " ")
    return f"{text} {p['reference']}" if p["reference"] else text


def statement_csv(st: dict[str, Any]) -> str:
    """One row per document (and per invoice line), the running balance beside each, in major units."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)

    def row(cur: str, section: str, day: Any, doc: Any, text: str, total: int | None, balance: int | None) -> None:
        total_ = "" if total is None else major(total, cur)
        balance_ = "" if balance is None else major(balance, cur)
        w.writerow([cur, section, day, doc or "", text, "", "", "", "", "", "", total_, balance_])

    for sec in st["currencies"]:
        cur = sec["currency"]
        bal = sec["opening_balance_minor"]
        row(cur, "opening_balance", st["period_start"], "", "Balance brought forward", None, bal)
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
            text = f"Payment received ({_method(p)}): {payment_applied(p, cur)}"
            row(cur, "payment", p["paid_on"], p["invoice_number"], text, -p["amount_minor"], bal)
        for x in sec["withholdings"]:
            bal -= x["withheld_minor"]
            text = "Tax withheld by the client (creditable, certificate awaited)"
            row(cur, "withholding", x["withheld_on"], x["invoice_number"], text, -x["withheld_minor"], bal)
        for r in sec["refunds"]:
            bal += r["amount_minor"]
            row(cur, "refund", r["refunded_on"], "", f"Refund of credit balance ({_method(r)})", r["amount_minor"], bal)
        for x in sec["returns"]:
            back = x["amount_minor"] + x["withheld_minor"]
            bal += back
            row(cur, "payment_returned", x["voided_on"], "", returned_text(x, cur), back, bal)
        row(cur, "closing_balance", st["period_end"], "", "Balance carried forward", None, sec["closing_balance_minor"])
        for b in BUCKETS:
            row(cur, "aging", st["period_end"], "", b, sec["aging"][b], None)
    return buf.getvalue()


def _client_block(c: dict[str, Any]) -> str:
    out = [f"<b>{esc(c['legal_name'])}</b>", f"Tax id: {esc(c['tax_id'] or '-')}", f"Billing e-mail: {esc(c['billing_email'])}"]
    treatment = c.get("tax_treatment") or "standard"
    if treatment != "standard":
        text = f"Tax treatment: {TREATMENTS.get(treatment, treatment)}"
        if c.get("tax_exemption_reason"):
            text += f" — {esc(c['tax_exemption_reason'])}"
        if c.get("tax_certificate_ref"):
            text += f" (certificate {esc(c['tax_certificate_ref'])})"
        out.append(text)
    return "<br/>".join(out)


def statement_pdf(st: dict[str, Any]) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    c = st["client"]
    page = pdf_page(f"Statement {st['period']} {c['legal_name']}", f"Statement {st['period']} · {c['legal_name']}")
    styles, small, grid = page.styles, page.small, page.grid
    story: list[Any] = [Paragraph(f"Statement of account — {st['period']}", styles["Title"])]
    issuers = st.get("issuers") or []
    blocks = [Paragraph("<br/>".join(issuer_lines(s)), small) for s in issuers] or [Paragraph("", small)]
    story += [
        Table(
            [[Paragraph("Issued by", styles["Heading4"]), Paragraph("Statement for", styles["Heading4"])]],
            colWidths=[90 * mm] * 2,
        ),
        Table(
            [[blocks[0], Paragraph(_client_block(c) + f"<br/>Period: {st['period_start']} to {st['period_end']}", small)]]
            + [[b, ""] for b in blocks[1:]],
            colWidths=[90 * mm] * 2,
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        ),
        Spacer(1, 6 * mm),
    ]
    if not st["currencies"]:
        story.append(Paragraph("No activity and no balance in this period.", styles["BodyText"]))
    for sec in st["currencies"]:
        story += _section(st, sec, styles, small, grid)
    footers = [s["invoice_footer"].strip() for s in issuers if (s.get("invoice_footer") or "").strip()]
    for text in footers:
        story.append(Paragraph(esc(text).replace("\n", "<br/>"), small))
    return page.render(story)


def _section(st: dict[str, Any], sec: dict[str, Any], styles: Any, small: Any, grid: Any) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    cur = sec["currency"]
    names = ", ".join(esc(s["legal_name"] or s["name"]) for s in sec.get("issuers", []))
    story: list[Any] = [Paragraph(f"Account in {cur}" + (f" — {names}" if names else ""), styles["Heading2"])]
    summary = [
        ["Opening balance", "Invoiced", "Credited", "Paid", "Tax withheld", "Refunded", "Returned", "Closing balance"],
        [
            amount(sec[k], cur)
            for k in (
                "opening_balance_minor",
                "invoiced_minor",
                "credited_minor",
                "paid_minor",
                "withheld_minor",
                "refunded_minor",
                "returned_minor",
                "closing_balance_minor",
            )
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
        rows: list[list[Any]] = [["Description", "Qty", "Unit", "Days", "Tax", "Amount", "Tax amount"]]
        for ln in inv["lines"]:
            days = f"{ln['days']}/{ln['period_days']}" if ln["days"] is not None and ln["period_days"] else ""
            treatment = ln.get("tax_treatment") or "standard"
            rate = ln.get("tax_rate")
            tax = TREATMENTS[treatment] if treatment != "standard" else pct(rate)
            if ln["kind"] == "deposit":  # a liability held, not a sale
                tax = "Not a sale"
            rows.append(
                [
                    Paragraph(esc(ln["description"]), small),
                    ln["quantity"],
                    amount(ln["unit_price_minor"], cur),
                    days,
                    tax,
                    amount(ln["amount_minor"], cur),
                    amount(ln["tax_minor"], cur),
                ]
            )
        rows.append(["Total", "", "", "", "", amount(inv["subtotal_minor"], cur), amount(inv["tax_minor"], cur)])
        rows.append(["Total due", "", "", "", "", "", amount(inv["total_minor"], cur)])
        widths = [76 * mm, 11 * mm, 22 * mm, 13 * mm, 18 * mm, 22 * mm, 20 * mm]
        story += [Table(rows, colWidths=widths, style=grid, repeatRows=1), Spacer(1, 3 * mm)]
    if sec["credit_notes"]:
        story.append(Paragraph("Credit notes", styles["Heading4"]))
        rows = [["Number", "Date", "Invoice", "Reason", "Total"]] + [
            [
                n["number_label"],
                str(n["issue_date"]),
                n["invoice_number"],
                Paragraph(esc(n["reason"]), small),
                amount(n["total_minor"], cur),
            ]
            for n in sec["credit_notes"]
        ]
        story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
    if sec["payments"]:
        story.append(Paragraph("Payments received", styles["Heading4"]))
        rows = [["Date", "Method", "Applied to", "Amount"]] + [
            [
                str(p["paid_on"]),
                Paragraph(esc(_method(p)), small),
                Paragraph(esc(payment_applied(p, cur, amount)), small),
                amount(p["amount_minor"], cur),
            ]
            for p in sec["payments"]
        ]
        story += [Table(rows, style=grid, hAlign="LEFT", colWidths=[22 * mm, 40 * mm, 90 * mm, 28 * mm]), Spacer(1, 3 * mm)]
    if sec["withholdings"]:
        story.append(Paragraph("Tax withheld by the client (creditable; certificate awaited)", styles["Heading4"]))
        rows = [["Date", "Invoice", "Withheld"]] + [
            [str(x["withheld_on"]), x["invoice_number"], amount(x["withheld_minor"], cur)] for x in sec["withholdings"]
        ]
        story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
    if sec["refunds"]:
        story.append(Paragraph("Refunds of credit balance", styles["Heading4"]))
        rows = [["Date", "Method", "Amount"]] + [
            [str(r["refunded_on"]), _method(r), amount(r["amount_minor"], cur)] for r in sec["refunds"]
        ]
        story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
    if sec["returns"]:
        story.append(Paragraph("Payments returned (voided after they cleared: owed again)", styles["Heading4"]))
        rows = [["Date", "Payment", "Amount"]] + [
            [str(x["voided_on"]), returned_text(x, cur, amount), amount(x["amount_minor"] + x["withheld_minor"], cur)]
            for x in sec["returns"]
        ]
        story += [Table(rows, style=grid, hAlign="LEFT"), Spacer(1, 3 * mm)]
    story.append(Paragraph(f"Aging at {st['period_end']}", styles["Heading4"]))
    a = sec["aging"]
    story += [
        Table(
            [[BUCKET_NAMES[b] for b in BUCKETS] + ["Total"], [amount(a[b], cur) for b in BUCKETS] + [amount(a["total"], cur)]],
            style=grid,
            hAlign="LEFT",
        ),
        Spacer(1, 6 * mm),
    ]
    return story
