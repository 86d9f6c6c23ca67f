"""Billing's read-models: every list and figure the API and the admin show, as typed rows.

The edges look a single row up by id (`get_or_404`) and call these for everything else."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import aging, reports, statements
from billing.db import driver
from billing.facts import Month
from domain.models import Client, Site, User
from domain.models.invoice import BillingRun, CreditNote, Invoice, InvoiceLine, Payment, PaymentAllocation
from domain.services.paging import sorted_keyset_page


class InvoiceFilter(NamedTuple):
    client_id: uuid.UUID | None = None
    period: str | None = None
    status: str | None = None
    site_id: uuid.UUID | None = None
    # a client reads its issued invoices only: a draft is finance's until it is issued (issue 12)
    issued_only: bool = False


async def invoice_page(
    session: AsyncSession, where: InvoiceFilter, cursor: str | None, limit: int
) -> tuple[list[Invoice], str | None]:
    """Newest issue date first, drafts (not issued yet) before them, then by id (issue 14); keyset
    paging: `next_cursor` is the last id of the page when another page follows."""
    stmt = select(Invoice)
    if where.client_id is not None:
        stmt = stmt.where(Invoice.client_id == where.client_id)
    if where.period is not None:
        stmt = stmt.where(Invoice.period == where.period)
    if where.status is not None:
        stmt = stmt.where(Invoice.status == where.status)
    if where.site_id is not None:
        stmt = stmt.where(Invoice.site_id == where.site_id)
    if where.issued_only:
        stmt = stmt.where(Invoice.status != "draft")
    return await sorted_keyset_page(session, stmt, Invoice.issue_date, Invoice.id, cursor, limit, descending=True)


async def invoice_lines(session: AsyncSession, invoice_id: uuid.UUID) -> list[InvoiceLine]:
    return list(
        (
            await session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position))
        ).all()
    )


async def credit_notes_of(session: AsyncSession, invoice_id: uuid.UUID) -> list[CreditNote]:
    return list(
        (
            await session.scalars(select(CreditNote).where(CreditNote.invoice_id == invoice_id).order_by(CreditNote.created_at))
        ).all()
    )


async def payments_of(session: AsyncSession, invoice_id: uuid.UUID) -> list[Any]:
    """What was paid on an invoice: its allocations, with the payment each came from."""
    rows = await session.execute(
        select(
            PaymentAllocation.id,
            Payment.id.label("payment_id"),
            Payment.paid_on,
            Payment.method,
            Payment.status,
            Payment.reference,
            Payment.source_ref,
            Payment.currency,
            PaymentAllocation.amount_minor,
            PaymentAllocation.withheld_minor,
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.invoice_id == invoice_id)
        .order_by(Payment.paid_on, PaymentAllocation.created_at)
    )
    return list(rows.all())


async def emails_of(session: AsyncSession, user_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Who created or approved a document, by user id."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.email).where(User.id.in_(ids)))).tuples().all())


async def invoices_of_lease(session: AsyncSession, lease_id: uuid.UUID) -> list[Invoice]:
    return list(
        (
            await session.scalars(
                select(Invoice)
                .where(Invoice.id.in_(select(InvoiceLine.invoice_id).where(InvoiceLine.lease_id == lease_id)))
                .order_by(Invoice.period.desc())
            )
        ).all()
    )


async def recent_runs(session: AsyncSession, limit: int = 8) -> Sequence[BillingRun]:
    return (await session.scalars(select(BillingRun).order_by(BillingRun.created_at.desc()).limit(limit))).all()


class InvoiceListRow(NamedTuple):
    invoice: Invoice
    client_name: str
    site_code: str


async def invoice_list(session: AsyncSession, period: str | None, limit: int = 200) -> list[InvoiceListRow]:
    """Finance's invoice list, newest month first, with whom and where each was issued."""
    stmt = (
        select(Invoice, Client.legal_name, Site.code)
        .join(Client, Client.id == Invoice.client_id)
        .join(Site, Site.id == Invoice.site_id)
    )
    if period:
        stmt = stmt.where(Invoice.period == period)
    rows = await session.execute(stmt.order_by(Invoice.period.desc(), Invoice.number_label).limit(limit))
    return [InvoiceListRow(*r) for r in rows.tuples().all()]


class CreditNoteListRow(NamedTuple):
    credit_note: CreditNote
    client_name: str


async def recent_credit_notes(session: AsyncSession, limit: int = 50) -> list[CreditNoteListRow]:
    rows = await session.execute(
        select(CreditNote, Client.legal_name)
        .join(Client, Client.id == CreditNote.client_id)
        .order_by(CreditNote.created_at.desc())
        .limit(limit)
    )
    return [CreditNoteListRow(*r) for r in rows.tuples().all()]


class InvoicedTotal(NamedTuple):
    currency: str
    total_minor: int
    invoices: int


async def invoiced_this_month(session: AsyncSession, today: date) -> list[InvoicedTotal]:
    """Issued or paid invoices dated from the first of `today`'s month to `today`, per currency."""
    rows = await session.execute(
        select(Invoice.currency, func.sum(Invoice.total_minor), func.count())
        .where(
            Invoice.status.in_(("issued", "partially_paid", "paid")),
            Invoice.issue_date >= today.replace(day=1),
            Invoice.issue_date <= today,
        )
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    )
    return [InvoicedTotal(c, int(t), int(n)) for c, t, n in rows.tuples().all()]


async def ar_aging(session: AsyncSession, as_of: date) -> dict[str, Any]:
    """Receivables by client and currency in the buckets current / 1–30 / 31–60 / 61–90 / 90+ days past due."""
    result: dict[str, Any] = await aging.ar_aging(await driver(session), as_of)
    return result


async def billing_kpis(session: AsyncSession, period: str | None, today: date) -> dict[str, Any]:
    conn = await driver(session)
    return {
        "billing": await reports.billing_kpis(conn, period),
        "receivables_aging": (await aging.ar_aging(conn, today))["totals"],
    }


async def client_statement(session: AsyncSession, client_id: uuid.UUID, month: Month) -> dict[str, Any]:
    """The month's statement of a client the caller has already looked up."""
    result: dict[str, Any] = await statements.statement(await driver(session), client_id, month)
    return result
