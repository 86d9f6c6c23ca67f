"""Invoices after issue: reading them, credit notes (with the approval threshold of rule 7), voids.

An issued invoice is never edited; corrections are credit notes, and a void keeps its number."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import calc
from billing.db import driver
from billing.facts import Month
from billing.numbering import next_numbers, save_numbers
from billing.settlement import settle_invoice
from domain.errors import InvalidState, NotFound, ValidationFailed
from domain.models.invoice import CreditNote, Invoice, InvoiceLine
from domain.models.site import Site
from domain.services.audit import Actor, SystemActor, record, snapshot
from domain.services.lookup import get_or_404

# who settles an invoice again after the run's deposit refund (the run's own actor lives in run_batch)
REFUND_ACTOR = SystemActor("billing-run")


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice:
    return await get_or_404(session, Invoice, invoice_id, "invoice", for_update=for_update)


async def _site(session: AsyncSession, site_id: uuid.UUID) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


def _document_date(site: Site, inv: Invoice) -> date:
    """A correction is dated today on the site's calendar, never before the invoice it corrects."""
    today = datetime.now(ZoneInfo(site.timezone)).date()
    return max(today, inv.issue_date or today)


async def _take_number(session: AsyncSession, site: Site, kind: str) -> int:
    conn = await driver(session)
    numbers = await next_numbers(conn, [site.id], kind)
    n = numbers[site.id]
    await save_numbers(conn, {site.id: n + 1}, kind)
    return n


async def credited_so_far(session: AsyncSession, invoice_id: uuid.UUID) -> tuple[int, int]:
    row = (
        await session.execute(
            select(func.coalesce(func.sum(CreditNote.amount_minor), 0), func.coalesce(func.sum(CreditNote.tax_minor), 0)).where(
                CreditNote.invoice_id == invoice_id, CreditNote.status != "rejected"
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def create_credit_note(
    session: AsyncSession,
    actor: Actor,
    inv: Invoice,
    *,
    reason: str,
    amount_minor: int | None,
    threshold_minor: int,
) -> CreditNote:
    """A partial (`amount_minor`, before tax) or whole (remaining) credit against an issued invoice.
    Above the threshold it waits for a finance approval and takes its number when approved."""
    if inv.status not in ("issued", "partially_paid", "paid"):
        raise InvalidState(f"the invoice is {inv.status}; only an issued or paid invoice can be credited")
    site = await _site(session, inv.site_id)
    done_amount, done_tax = await credited_so_far(session, inv.id)
    remaining = inv.subtotal_minor - done_amount
    if amount_minor is None:
        amount, tax = remaining, inv.tax_minor - done_tax
    else:
        # at the rate(s) the invoice's own lines were taxed at, never the site's rate of today
        taxed = (
            await session.execute(
                select(InvoiceLine.amount_minor, InvoiceLine.tax_rate).where(
                    InvoiceLine.invoice_id == inv.id, InvoiceLine.kind != "deposit"
                )
            )
        ).all()
        amount, tax = amount_minor, calc.credit_tax(amount_minor, [(a, r) for a, r in taxed])
    if amount <= 0:
        raise ValidationFailed("nothing left to credit on this invoice", field="amount_minor")
    if amount > remaining:
        raise ValidationFailed(f"at most {remaining} can still be credited on this invoice", field="amount_minor")
    tax = max(0, min(tax, inv.tax_minor - done_tax))
    cn = CreditNote(
        id=uuid.uuid4(),
        invoice_id=inv.id,
        client_id=inv.client_id,
        site_id=inv.site_id,
        currency=inv.currency,
        kind="manual",
        reason=reason,
        amount_minor=amount,
        tax_minor=tax,
        total_minor=amount + tax,
        created_by=actor.subject,
        status="pending_approval",
    )
    session.add(cn)
    if cn.total_minor <= threshold_minor:
        await _issue_credit_note(session, site, inv, cn)
    await session.flush()
    await record(session, actor, "credit_note.create", "credit_note", cn.id, after=snapshot(cn), client_id=inv.client_id)
    if cn.status == "issued":
        await _settle(session, actor, inv)
    return cn


async def _settle(session: AsyncSession, actor: Actor, inv: Invoice) -> None:
    """--- payments (issue 12): a credit note changes what is left to pay: the invoice's status follows
    (billing/settlement.py), and what a paid invoice no longer owes becomes the client's credit ---"""
    await settle_invoice(await driver(session), actor, inv.id, why={"credit_note": True})
    await session.refresh(inv)


async def _issue_credit_note(session: AsyncSession, site: Site, inv: Invoice, cn: CreditNote) -> None:
    n = await _take_number(session, site, "credit_note")
    cn.status = "issued"
    cn.number = n
    cn.number_label = f"{site.code}-CN-{n:06d}"
    cn.issue_date = _document_date(site, inv)
    cn.issued_at = datetime.now(UTC)
    cn.stripe_state = "pending"


async def _pending_note_for_update(session: AsyncSession, credit_note_id: uuid.UUID) -> CreditNote:
    """The credit note, locked, that must still wait for approval. ``populate_existing``: a caller may
    have loaded the note before the lock (the admin's lookup); its status must be the one read under
    the lock, or two submits at once would both find it pending."""
    locked = select(CreditNote).where(CreditNote.id == credit_note_id).with_for_update()
    cn = await session.scalar(locked.execution_options(populate_existing=True))
    if cn is None:
        raise NotFound("credit note not found")
    if cn.status != "pending_approval":
        raise InvalidState(f"the credit note is {cn.status}, not waiting for approval")
    return cn


async def approve_credit_note(session: AsyncSession, actor: Actor, credit_note_id: uuid.UUID) -> CreditNote:
    cn = await _pending_note_for_update(session, credit_note_id)
    inv = await get_invoice(session, cn.invoice_id, for_update=True)
    if inv.status == "void":
        raise InvalidState("the invoice was voided")
    before = snapshot(cn)
    cn.approved_by = actor.subject
    await _issue_credit_note(session, await _site(session, inv.site_id), inv, cn)
    await session.flush()
    await record(
        session, actor, "credit_note.approve", "credit_note", cn.id, before=before, after=snapshot(cn), client_id=cn.client_id
    )
    await _settle(session, actor, inv)
    return cn


async def reject_credit_note(session: AsyncSession, actor: Actor, credit_note_id: uuid.UUID, reason: str) -> CreditNote:
    """Refuse a credit note waiting for approval: it is never issued (no number is taken) and keeps
    who rejected it, when and why. The row lock makes a double submit reject once: the second finds
    it rejected (409), as does an approval racing it."""
    cn = await _pending_note_for_update(session, credit_note_id)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("say why the credit note is rejected", field="reason")
    before = snapshot(cn)
    cn.status = "rejected"
    cn.rejected_by = actor.subject
    cn.rejected_at = datetime.now(UTC)
    cn.rejection_reason = reason
    await session.flush()
    await record(
        session, actor, "credit_note.reject", "credit_note", cn.id, before=before, after=snapshot(cn), client_id=cn.client_id
    )
    return cn


async def void_invoice(session: AsyncSession, actor: Actor, inv: Invoice, reason: str) -> Invoice:
    """Void an issued, unpaid, uncredited invoice. It keeps its number (no gap); what it charged
    no longer counts as billed, so the next run charges what the leases still owe as dated true-ups."""
    if inv.status != "issued":
        raise InvalidState(f"the invoice is {inv.status}; only an issued, unpaid invoice can be voided")
    credited = await session.scalar(select(func.count()).where(CreditNote.invoice_id == inv.id, CreditNote.status != "rejected"))
    if credited:
        raise InvalidState("the invoice has credit notes; credit the rest instead of voiding")
    carried = await session.scalar(
        select(func.count()).where(InvoiceLine.invoice_id == inv.id, InvoiceLine.kind == "credit_transfer")
    )
    if carried:
        # its true-up credits live on as credit notes: voiding it would let the next run credit them again
        raise InvalidState("the invoice carried excess credit to a credit note; credit it instead of voiding")
    before = snapshot(inv)
    inv.status = "void"
    inv.voided_at = datetime.now(UTC)
    if inv.stripe_invoice_id is not None:
        inv.stripe_state = "void_pending"
        inv.stripe_next_attempt_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "invoice.void",
        "invoice",
        inv.id,
        before=before,
        after={**snapshot(inv), "reason": reason},
        client_id=inv.client_id,
    )
    return inv


async def insert_deposit_refund(conn: Any, lease: Any, amount: int, month: Month, threshold_minor: int) -> int:
    """The credit note that gives a finished lease's deposit back (once: `dedupe_key`). Returns 1 if created."""
    inv = await conn.fetchrow(
        """SELECT i.id, i.client_id, i.site_id, i.currency, i.issue_date, s.code, (now() AT TIME ZONE s.timezone)::date AS today
           FROM invoice_lines il
           JOIN invoices i ON i.id = il.invoice_id JOIN sites s ON s.id = i.site_id
           WHERE il.lease_id = $1 AND il.kind = 'deposit' AND i.status NOT IN ('void', 'draft')
           ORDER BY i.issue_date LIMIT 1""",
        lease["id"],
    )
    if inv is None:
        return 0
    issued = amount <= threshold_minor
    numbers = await next_numbers(conn, [inv["site_id"]], "credit_note") if issued else {}
    n = numbers.get(inv["site_id"])
    created = await conn.fetchval(
        """INSERT INTO credit_notes (id, invoice_id, client_id, site_id, currency, kind, status, number, number_label,
                                     reason, amount_minor, tax_minor, total_minor, issue_date, issued_at, dedupe_key)
           VALUES ($1, $2, $3, $4, $5, 'deposit_refund', $6, $7, $8, $9, $10, 0, $10, $11,
                   CASE WHEN $7::int IS NULL THEN NULL ELSE now() END, $12)
           ON CONFLICT (dedupe_key) DO NOTHING RETURNING id""",
        uuid.uuid4(),
        inv["id"],
        inv["client_id"],
        inv["site_id"],
        inv["currency"],
        "issued" if issued else "pending_approval",
        n,
        f"{inv['code']}-CN-{n:06d}" if n else None,
        f"Deposit refund: lease {lease['id']} ended {lease['end_date'] or ''}".strip(),
        amount,
        max(inv["today"], inv["issue_date"]) if issued else None,
        f"deposit:{lease['id']}",
    )
    if created and n is not None:
        await save_numbers(conn, {inv["site_id"]: n + 1}, "credit_note")
        # --- payments (issue 12): a paid deposit invoice gives the refunded deposit back as credit ---
        await settle_invoice(conn, REFUND_ACTOR, inv["id"], why={"credit_note": True})
    return 1 if created else 0
