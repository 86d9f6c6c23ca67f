"""An invoice's own PDF and a credit note's own PDF: the documents an auditor accepts.

Each names its issuing entity (the site's legal name, address, tax id and invoice footer), the
client (its tax id and tax treatment, with the reason and certificate of a zero-rated or exempt
one), its number and dates, its lines with how each was taxed, the totals per tax rate and, for an
invoice, what is still due after the payments (cleared only), the tax the client withheld and the
credit notes issued on it. Amounts are written by the one formatter of billing/doc_kit.py.

`invoice_pdf(conn, id)` is what the API, the admin and the dunning emails attach; it reads with the
asyncpg connection of the caller's transaction (billing/db.py `driver()`)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing.db import driver
from billing.doc_kit import amount, esc, issuer_lines, pct, pdf_page, safe_name
from billing.facts import Month
from domain.errors import NotFound

_PARTIES = """
       s.code AS site_code, s.name AS site_name, s.address AS site_address, s.legal_name AS site_legal_name,
       s.tax_id AS site_tax_id, s.invoice_footer AS site_footer, s.tax_rate AS site_tax_rate, s.tax_label AS site_tax_label,
       c.legal_name AS client_name, c.billing_email AS client_email, c.tax_id AS client_tax_id,
       c.tax_treatment AS client_tax_treatment, c.tax_exemption_reason AS client_tax_reason,
       c.tax_certificate_ref AS client_tax_certificate
"""

INVOICE_SQL = f"""
SELECT i.id, i.client_id, i.site_id, i.period, i.kind, i.currency, i.status, i.number_label, i.issue_date,
       i.due_date, i.subtotal_minor, i.tax_minor, i.total_minor, {_PARTIES}
FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
WHERE i.id = $1
"""

LINES_SQL = """
SELECT invoice_id, position, kind, trueup, description, quantity, unit_price_minor, days, period_days,
       service_start, service_end, amount_minor, tax_minor, tax_treatment, tax_rate
FROM invoice_lines WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, position
"""

CREDITS_SQL = """
SELECT invoice_id, number_label, issue_date, total_minor FROM credit_notes
WHERE invoice_id = ANY($1::uuid[]) AND status = 'issued' ORDER BY issue_date, number_label
"""

# only cleared money settles an invoice: a held (post-dated) cheque or a voided payment does not
PAID_SQL = """
SELECT a.invoice_id, p.paid_on, p.method, p.reference, a.amount_minor, a.withheld_minor
FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
WHERE a.invoice_id = ANY($1::uuid[]) AND p.status = 'cleared' ORDER BY p.paid_on, a.created_at
"""

CREDIT_NOTE_SQL = f"""
SELECT n.id, n.invoice_id, n.client_id, n.site_id, n.currency, n.kind, n.status, n.number_label, n.reason,
       n.amount_minor, n.tax_minor, n.total_minor, n.issue_date,
       i.number_label AS invoice_number, i.issue_date AS invoice_issue_date, i.total_minor AS invoice_total_minor,
       i.status AS invoice_status, {_PARTIES}
FROM credit_notes n JOIN invoices i ON i.id = n.invoice_id JOIN sites s ON s.id = n.site_id
JOIN clients c ON c.id = n.client_id
WHERE n.id = $1
"""

TREATMENT_NAMES = {"standard": "Standard rate", "zero_rated": "Zero-rated", "exempt": "Exempt", "deposit": "Not a sale"}


@dataclass
class InvoiceDoc:
    """Everything an invoice's PDF prints, read in one go (a statement export reads many at once)."""

    head: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    credits: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def credited_minor(self) -> int:
        return sum(int(c["total_minor"]) for c in self.credits)

    @property
    def paid_minor(self) -> int:
        return sum(int(p["amount_minor"]) for p in self.payments)

    @property
    def withheld_minor(self) -> int:
        return sum(int(p["withheld_minor"]) for p in self.payments)

    @property
    def due_minor(self) -> int:
        if self.head["status"] in ("void", "draft"):
            return 0 if self.head["status"] == "void" else int(self.head["total_minor"])
        return int(self.head["total_minor"]) - self.credited_minor - self.paid_minor - self.withheld_minor


def invoice_filename(head: Any) -> str:
    """`invoice-MNL1-000123.pdf`; a draft has no number yet: `invoice-draft-<id>.pdf`."""
    label = head["number_label"]
    return f"invoice-{safe_name(label)}.pdf" if label else f"invoice-draft-{head['id']}.pdf"


def credit_note_filename(head: Any) -> str:
    """`credit-note-MNL1-CN-000004.pdf`; one waiting for approval: `credit-note-pending-<id>.pdf`."""
    label = head["number_label"]
    return f"credit-note-{safe_name(label)}.pdf" if label else f"credit-note-{head['status']}-{head['id']}.pdf"


async def invoice_docs(conn: Any, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, InvoiceDoc]:
    """The documents of several invoices with four queries in all (not four per invoice)."""
    heads = await conn.fetch(INVOICE_SQL.replace("i.id = $1", "i.id = ANY($1::uuid[])"), invoice_ids)
    docs = {h["id"]: InvoiceDoc(dict(h)) for h in heads}
    ids = list(docs)
    for r in await conn.fetch(LINES_SQL, ids):
        docs[r["invoice_id"]].lines.append(dict(r))
    for r in await conn.fetch(CREDITS_SQL, ids):
        docs[r["invoice_id"]].credits.append(dict(r))
    for r in await conn.fetch(PAID_SQL, ids):
        docs[r["invoice_id"]].payments.append(dict(r))
    return docs


async def invoice_doc(conn: Any, invoice_id: uuid.UUID) -> InvoiceDoc:
    docs = await invoice_docs(conn, [invoice_id])
    if invoice_id not in docs:
        raise NotFound("invoice not found")
    return docs[invoice_id]


async def invoice_pdf(conn: Any, invoice_id: uuid.UUID) -> tuple[str, bytes]:
    """The invoice's file name and PDF bytes (NotFound when there is no such invoice). The caller
    decides who may read it."""
    doc = await invoice_doc(conn, invoice_id)
    pdf = await asyncio.to_thread(render_invoice, doc)  # reportlab is CPU work: off the event loop
    return invoice_filename(doc.head), pdf


async def credit_note_pdf(conn: Any, credit_note_id: uuid.UUID) -> tuple[str, bytes]:
    """The credit note's file name and PDF bytes (NotFound when there is no such credit note)."""
    head = await conn.fetchrow(CREDIT_NOTE_SQL, credit_note_id)
    if head is None:
        raise NotFound("credit note not found")
    pdf = await asyncio.to_thread(render_credit_note, dict(head))
    return credit_note_filename(head), pdf


def line_tax(line: dict[str, Any], site_rate: Decimal) -> tuple[str, Decimal]:
    """How a line was taxed: (treatment, rate). A line from before tax treatments were recorded is
    standard at its site's rate."""
    if line.get("kind") == "deposit":  # a liability held, not a sale: no tax, and not in the taxable sales
        return "deposit", Decimal(0)
    treatment = line.get("tax_treatment") or "standard"
    rate = line.get("tax_rate")
    if treatment != "standard":
        return treatment, Decimal(0)
    return treatment, Decimal(site_rate if rate is None else rate)


def tax_summary(lines: list[dict[str, Any]], site_rate: Decimal, tax: str = "VAT") -> list[tuple[str, str, int, int]]:
    """The totals per tax rate an auditor reads: (label of the sales, label of the tax, sales, tax),
    standard rates first (highest first), then zero-rated, then exempt sales. `tax` is what the site's
    tax is called ("VATable sales (12%)" / "VAT (12%)"; "Taxable sales (Sales tax 8.875%)" / "Sales tax (8.875%)")."""
    groups: dict[tuple[str, Decimal], list[int]] = defaultdict(lambda: [0, 0])
    for ln in lines:
        key = line_tax(ln, site_rate)
        groups[key][0] += int(ln["amount_minor"])
        groups[key][1] += int(ln["tax_minor"])
    order = {"standard": 0, "zero_rated": 1, "exempt": 2, "deposit": 3}
    out = []
    for (treatment, rate), (sales, tax_minor) in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], -kv[0][1])):
        if treatment == "standard":
            sales_label = f"{tax}able sales ({pct(rate)})" if tax == "VAT" else f"Taxable sales ({tax} {pct(rate)})"
            out.append((sales_label, f"{tax} ({pct(rate)})", sales, tax_minor))
        elif treatment == "zero_rated":
            out.append(("Zero-rated sales", f"{tax} (0%)", sales, tax_minor))
        elif treatment == "exempt":
            out.append(("Exempt sales", "", sales, tax_minor))
        else:
            out.append(("Security deposits (not a sale)", "", sales, tax_minor))
    return out


def service_period(head: dict[str, Any], lines: list[dict[str, Any]]) -> tuple[date, date]:
    """The days the invoice's lines cover; a line without dates covers its invoice's month."""
    starts = [ln["service_start"] for ln in lines if ln.get("service_start")]
    ends = [ln["service_end"] for ln in lines if ln.get("service_end")]
    month = Month.parse(head["period"])
    return (min(starts) if starts else month.first, max(ends) if ends else month.last)


def client_lines(head: dict[str, Any]) -> list[str]:
    out = [f"<b>{esc(head['client_name'])}</b>", esc(head["client_email"])]
    out.append(f"Tax id: {esc(head['client_tax_id'])}" if head["client_tax_id"] else "Tax id: -")
    treatment = head["client_tax_treatment"] or "standard"
    text = f"Tax treatment: {TREATMENT_NAMES.get(treatment, treatment)}"
    if treatment != "standard":
        if head["client_tax_reason"]:
            text += f" — {esc(head['client_tax_reason'])}"
        if head["client_tax_certificate"]:
            text += f" (certificate {esc(head['client_tax_certificate'])})"
    out.append(text)
    return out


def _site(head: dict[str, Any]) -> dict[str, Any]:
    return {
        "legal_name": head["site_legal_name"],
        "name": head["site_name"],
        "address": head["site_address"],
        "tax_id": head["site_tax_id"],
    }


def _parties(page: Any, title: str, facts: list[tuple[str, str]], head: dict[str, Any]) -> list[Any]:
    """The top of an invoice or credit note: the title, the issuer beside the document's facts, the client."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    styles, small = page.styles, page.small
    issuer = Paragraph("<br/>".join(issuer_lines(_site(head))), styles["BodyText"])
    meta = Table([[k, v] for k, v in facts], style=page.grid, colWidths=[30 * mm, 50 * mm])
    top = Table([[issuer, meta]], colWidths=[100 * mm, 80 * mm])
    top.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    return [
        Paragraph(esc(title), styles["Title"]),
        top,
        Spacer(1, 4 * mm),
        Paragraph("Bill to", styles["Heading4"]),
        Paragraph("<br/>".join(client_lines(head)), small),
        Spacer(1, 4 * mm),
    ]


def _footer(page: Any, head: dict[str, Any]) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    text = (head.get("site_footer") or "").strip()
    if not text:
        return []
    return [Spacer(1, 6 * mm), Paragraph(esc(text).replace("\n", "<br/>"), page.small)]


def render_invoice(doc: InvoiceDoc) -> bytes:
    """The invoice's PDF (pure: no I/O)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    h, cur = doc.head, doc.head["currency"]
    label = h["number_label"] or "DRAFT"
    page = pdf_page(f"Invoice {label} {h['client_name']}", f"Invoice {label} · {h['site_legal_name'] or h['site_name']}")
    styles, small, grid = page.styles, page.small, page.grid
    first, last = service_period(h, doc.lines)
    title = "Invoice" if h["status"] != "draft" else "Draft invoice (not issued)"
    if h["status"] == "void":
        title = "Invoice — VOID"
    facts = [
        ("Number", label),
        ("Issue date", str(h["issue_date"] or "-")),
        ("Due date", str(h["due_date"] or "-")),
        ("Service period", f"{first} to {last}"),
        ("Currency", cur),
    ]
    story = _parties(page, f"{title} {label}", facts, h)
    site_rate = Decimal(h["site_tax_rate"])
    rows: list[list[Any]] = [["Description", "Service", "Qty", "Unit price", "Days", "Tax", "Amount", "Tax amount"]]
    for ln in doc.lines:
        treatment, rate = line_tax(ln, site_rate)
        days = f"{ln['days']}/{ln['period_days']}" if ln["days"] is not None and ln["period_days"] else ""
        served = f"{ln['service_start']}–{ln['service_end']}" if ln["service_start"] and ln["service_end"] else ""
        rows.append(
            [
                Paragraph(esc(ln["description"]), small),
                Paragraph(served, small),
                ln["quantity"],
                amount(ln["unit_price_minor"], cur),
                days,
                pct(rate) if treatment == "standard" else TREATMENT_NAMES[treatment],
                amount(ln["amount_minor"], cur),
                amount(ln["tax_minor"], cur),
            ]
        )
    widths = [50 * mm, 32 * mm, 10 * mm, 20 * mm, 12 * mm, 16 * mm, 22 * mm, 18 * mm]
    story += [Table(rows, colWidths=widths, style=grid, repeatRows=1), Spacer(1, 4 * mm)]

    summary: list[list[Any]] = [["", f"Amount ({cur})"]]
    tax_name = h.get("site_tax_label") or "VAT"
    for sales_label, tax_label, sales, tax in tax_summary(doc.lines, site_rate, tax_name):
        summary.append([sales_label, amount(sales, cur)])
        if tax_label:
            summary.append([tax_label, amount(tax, cur)])
    summary += [
        ["Total before tax", amount(h["subtotal_minor"], cur)],
        [f"Total {tax_name}", amount(h["tax_minor"], cur)],
        ["Invoice total", amount(h["total_minor"], cur)],
    ]
    for c in doc.credits:
        summary.append([f"Less credit note {c['number_label']} ({c['issue_date']})", amount(-int(c["total_minor"]), cur)])
    for p in doc.payments:
        ref = f", {p['reference']}" if p["reference"] else ""
        if p["amount_minor"]:
            summary.append(
                [f"Less payment {p['paid_on']} ({p['method'].replace('_', ' ')}{ref})", amount(-int(p["amount_minor"]), cur)]
            )
        if p["withheld_minor"]:
            summary.append([f"Less tax withheld by the client ({p['paid_on']})", amount(-int(p["withheld_minor"]), cur)])
    summary.append(["Amount due" if h["status"] != "void" else "Amount due (void)", amount(doc.due_minor, cur)])
    sum_table = Table(summary, colWidths=[110 * mm, 40 * mm], style=grid, hAlign="RIGHT")
    sum_table.setStyle([("FONTNAME", (0, len(summary) - 1), (-1, len(summary) - 1), "Helvetica-Bold")])
    story += [Paragraph("Summary", styles["Heading4"]), sum_table]
    if h["status"] not in ("void", "draft") and doc.due_minor > 0:
        story.append(Paragraph(f"Please pay {cur} {amount(doc.due_minor, cur)} by {h['due_date']}.", small))
    story += _footer(page, h)
    return page.render(story)


def render_credit_note(h: dict[str, Any]) -> bytes:
    """The credit note's PDF (pure: no I/O)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    cur = h["currency"]
    issued = h["status"] == "issued"
    label = h["number_label"] or h["status"].replace("_", " ").upper()
    page = pdf_page(f"Credit note {label} {h['client_name']}", f"Credit note {label} · {h['site_legal_name'] or h['site_name']}")
    facts = [
        ("Number", label),
        ("Issue date", str(h["issue_date"] or "-")),
        ("Credits invoice", f"{h['invoice_number']} ({h['invoice_issue_date']})"),
        ("Currency", cur),
    ]
    title = "Credit note" if issued else "Credit note (not issued: " + h["status"].replace("_", " ") + ")"
    story = _parties(page, f"{title} {h['number_label'] or ''}".strip(), facts, h)
    rows = [
        ["Reason", Paragraph(esc(h["reason"]), page.small)],
        ["Credit before tax", amount(h["amount_minor"], cur)],
        [f"{h.get('site_tax_label') or 'VAT'} credited", amount(h["tax_minor"], cur)],
        ["Total credited", amount(h["total_minor"], cur)],
        [f"Invoice {h['invoice_number']} total", amount(h["invoice_total_minor"], cur)],
    ]
    table = Table(rows, colWidths=[80 * mm, 70 * mm], style=page.grid)
    table.setStyle([("FONTNAME", (0, 3), (-1, 3), "Helvetica-Bold")])
    story += [table, Spacer(1, 4 * mm)]
    story.append(
        Paragraph(
            f"This credit note reduces what is owed on invoice {esc(h['invoice_number'])} by {cur} "
            f"{amount(h['total_minor'], cur)}.",
            page.small,
        )
    )
    story += _footer(page, h)
    return page.render(story)


async def invoice_document(session: AsyncSession, invoice_id: uuid.UUID) -> tuple[str, bytes]:
    """`invoice_pdf` in the session's transaction (the API's and the admin's edge)."""
    return await invoice_pdf(await driver(session), invoice_id)


async def credit_note_document(session: AsyncSession, credit_note_id: uuid.UUID) -> tuple[str, bytes]:
    """`credit_note_pdf` in the session's transaction (the API's and the admin's edge)."""
    return await credit_note_pdf(await driver(session), credit_note_id)
