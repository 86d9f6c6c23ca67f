"""What a client reads of its own money (the client portal's read-models, issue 14).

The rule is the API's (service/api/billing.py, documents.py, payments.py): a client reads its own
invoices once issued (a draft is finance's until it is issued), its own issued credit notes (one
waiting for approval, or rejected, is finance's business), its own payments, balance and
statements. Anything else, another tenant's above all, is a 404, as if it did not exist."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import payment_queries
from billing.aging import BUCKETS, aging_of, open_items
from billing.db import driver
from billing.settlement import figures
from domain.errors import NotFound
from domain.models import Site
from domain.models.invoice import CreditNote, Invoice

# the statuses a client sees; `draft` is not among them
VISIBLE_STATUSES = ("issued", "partially_paid", "paid", "void")
# a credit note waiting for approval, or rejected (with finance's reason), is finance's business
VISIBLE_CREDIT_NOTE_STATUSES = ("issued",)


def client_sees_invoice(status: str) -> bool:
    """Whether a client reads its own invoice in this status (the API's and the portal's one rule)."""
    return status in VISIBLE_STATUSES


def client_sees_credit_note(status: str) -> bool:
    """Whether a client reads its own credit note in this status."""
    return status in VISIBLE_CREDIT_NOTE_STATUSES


class ClientInvoiceRow(NamedTuple):
    invoice: Invoice
    site_code: str
    owed_minor: int  # what it still asks for (cleared payments and issued credit notes deducted)


async def _owed(session: AsyncSession, invoices: list[Invoice]) -> dict[uuid.UUID, int]:
    figs = await figures(await driver(session), [i.id for i in invoices if i.status != "void"])
    return {k: f.owed_minor for k, f in figs.items()}


async def client_invoices(
    session: AsyncSession, client_id: uuid.UUID, *, status: str | None = None, limit: int = 200
) -> list[ClientInvoiceRow]:
    """The client's issued invoices, newest first, with what each still asks for."""
    stmt = (
        select(Invoice, Site.code)
        .join(Site, Site.id == Invoice.site_id)
        .where(Invoice.client_id == client_id, Invoice.status.in_(VISIBLE_STATUSES))
    )
    if status in VISIBLE_STATUSES:
        stmt = stmt.where(Invoice.status == status)
    rows = (
        await session.execute(stmt.order_by(Invoice.issue_date.desc().nulls_last(), Invoice.number_label.desc()).limit(limit))
    ).tuples()
    pairs = list(rows)
    owed = await _owed(session, [inv for inv, _ in pairs])
    return [ClientInvoiceRow(inv, code, owed.get(inv.id, 0)) for inv, code in pairs]


async def readable_invoice(session: AsyncSession, client_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    """One of the client's issued invoices; another tenant's, a draft or none at all: 404."""
    inv = await session.get(Invoice, invoice_id)
    if inv is None or inv.client_id != client_id or not client_sees_invoice(inv.status):
        raise NotFound("invoice not found")
    return inv


async def invoice_owed(session: AsyncSession, inv: Invoice) -> int:
    return (await _owed(session, [inv])).get(inv.id, 0)


class ClientCreditNoteRow(NamedTuple):
    credit_note: CreditNote
    invoice_number: str | None


async def client_credit_notes(
    session: AsyncSession, client_id: uuid.UUID, *, invoice_id: uuid.UUID | None = None, limit: int = 200
) -> list[ClientCreditNoteRow]:
    """The client's issued credit notes, newest first, with the number of the invoice each credits."""
    stmt = (
        select(CreditNote, Invoice.number_label)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.client_id == client_id, CreditNote.status.in_(VISIBLE_CREDIT_NOTE_STATUSES))
    )
    if invoice_id is not None:
        stmt = stmt.where(CreditNote.invoice_id == invoice_id)
    stmt = stmt.order_by(CreditNote.issue_date.desc().nulls_last(), CreditNote.number_label.desc()).limit(limit)
    return [ClientCreditNoteRow(cn, number) for cn, number in (await session.execute(stmt)).tuples()]


async def readable_credit_note(session: AsyncSession, client_id: uuid.UUID, credit_note_id: uuid.UUID) -> CreditNote:
    """One of the client's issued credit notes; anything else: 404."""
    cn = await session.get(CreditNote, credit_note_id)
    if cn is None or cn.client_id != client_id or not client_sees_credit_note(cn.status):
        raise NotFound("credit note not found")
    return cn


async def client_payments(session: AsyncSession, client_id: uuid.UUID) -> list[dict[str, Any]]:
    """The client's payments with their allocations, latest first."""
    return await payment_queries.client_payments(await driver(session), client_id)


async def readable_payment(session: AsyncSession, client_id: uuid.UUID, payment_id: uuid.UUID) -> dict[str, Any]:
    """One of the client's payments with its allocations; another tenant's: 404."""
    conn = await driver(session)
    if await payment_queries.payment_client(conn, payment_id) != client_id:
        raise NotFound("payment not found")
    found = await payment_queries.payment(conn, payment_id)
    if found is None:
        raise NotFound("payment not found")
    return found


async def client_balance(session: AsyncSession, client_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per currency, as `GET /v1/clients/{id}/balance`: outstanding, credit, held cheques, balance."""
    return await payment_queries.client_balance(await driver(session), client_id)


async def client_aging(session: AsyncSession, client_id: uuid.UUID, as_of: date) -> dict[str, Any]:
    """What the client still owes on ``as_of``, per currency in the aging buckets, and the open
    invoices past their due date (oldest due first)."""
    items = await open_items(await driver(session), as_of, client_id)
    overdue = sorted((i for i in items if i["days_past_due"] > 0), key=lambda i: (i["due_date"], i["number_label"] or ""))
    return {
        "as_of": as_of,
        "buckets": list(BUCKETS),
        "totals": [{"currency": c, **v} for c, v in sorted(aging_of(items).items())],
        "overdue": overdue,
    }


async def statement_months(session: AsyncSession, client_id: uuid.UUID, today: date, limit: int = 36) -> list[str]:
    """The months a statement of the client has something in (documents, money), newest first;
    the current month always."""
    rows = await (await driver(session)).fetch(
        """SELECT DISTINCT to_char(d, 'YYYY-MM') AS period FROM (
             SELECT issue_date AS d FROM invoices WHERE client_id = $1 AND status <> 'draft' AND issue_date IS NOT NULL
             UNION ALL SELECT issue_date FROM credit_notes WHERE client_id = $1 AND status = 'issued' AND issue_date IS NOT NULL
             UNION ALL SELECT paid_on FROM payments WHERE client_id = $1 AND status = 'cleared'
             UNION ALL SELECT refunded_on FROM credit_refunds WHERE client_id = $1) x
           ORDER BY period DESC LIMIT $2""",
        client_id,
        limit,
    )
    months = [str(r["period"]) for r in rows]
    current = today.strftime("%Y-%m")
    return sorted({current, *months}, reverse=True)
