"""Downtime credits (issue 15): a resolved outage ticket (power, network) proposes, for each lease
whose seats it cost leased hours, a service credit as a credit note against the client's invoice
for the month the outage began, through the usual approval threshold.

- Which seats: the ticket's seat and the seats staff added (domain/helpdesk/affected_seats.py).
- What it costs: billing/downtime_rule.py, per seat and month, in the seat's leased hours.
- Never twice: one row per ticket and lease (unique key), inserted ON CONFLICT DO NOTHING: of two
  passes at once, the second waits for the first's row and proposes nothing; only the inserter raises
  a credit note.
- The month's invoice not issued yet (no run, a draft, or void): the row waits as `awaiting_invoice`
  and the worker raises the credit note once an issued invoice of that client, site and month exists.
- The worker pass (`run_pass`) proposes for outage tickets resolved within the lookback; staff can
  also propose at once (`propose_for_ticket`), which does the same, once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.downtime_rule import DowntimeRule, MonthLoss, seat_losses
from billing.invoices import create_credit_note, credited_so_far
from domain.errors import DomainError, InvalidState
from domain.helpdesk.access import reference
from domain.helpdesk.affected_seats import affected_seat_ids
from domain.leasing.leased_segments import leased_segments
from domain.models import Lease, LeasePriceStep, Seat, Site, Ticket, TicketEvent
from domain.models.downtime import DowntimeCheck, DowntimeCredit
from domain.models.invoice import CreditNote, Invoice
from domain.rules.money import apply_discount
from domain.rules.pricing import price_on as price_on_day
from domain.services.audit import Actor, SystemActor, record, snapshot
from domain.services.lookup import get_or_404

WORKER = SystemActor("downtime-credits")
CREDITABLE = ("issued", "partially_paid", "paid")


def _is_outage(ticket: Ticket, rule: DowntimeRule) -> bool:
    return ticket.category in rule.categories


async def _price_on(session: AsyncSession, lease: Lease) -> Any:
    steps = [
        (s.effective_date, s.monthly_price_minor)
        for s in (
            await session.scalars(
                select(LeasePriceStep).where(LeasePriceStep.lease_id == lease.id).order_by(LeasePriceStep.effective_date)
            )
        ).all()
    ]

    def price_on(day: date) -> int:
        base = price_on_day(
            day,
            base_minor=lease.monthly_price_minor,
            start_date=lease.start_date,
            steps=steps,
            escalation_pct=lease.escalation_pct,
        )
        return base + apply_discount(base, lease.discount_pct)  # apply_discount: the (negative) discount

    return price_on


class LeaseLoss(NamedTuple):
    lease: Lease
    lines: list[dict[str, Any]]
    period: str
    hours_lost: Decimal
    amount_minor: int


async def compute(session: AsyncSession, ticket: Ticket, rule: DowntimeRule) -> list[LeaseLoss]:
    """What the outage cost each lease, per seat and month (nothing written). Empty when the ticket is
    not a resolved outage, or no affected seat was leased during it."""
    if not _is_outage(ticket, rule) or ticket.resolved_at is None or ticket.resolved_at <= ticket.occurred_at:
        return []
    seat_ids = await affected_seat_ids(session, ticket)
    site = await session.get(Site, ticket.site_id)
    assert site is not None
    labels = dict((await session.execute(select(Seat.id, Seat.label).where(Seat.id.in_(seat_ids)))).tuples().all())
    by_lease_seat: dict[tuple[uuid.UUID, uuid.UUID], list[Any]] = defaultdict(list)
    shifts: dict[uuid.UUID, str] = {}
    for held in await leased_segments(session, seat_ids):
        by_lease_seat[(held.lease_id, held.seat_id)].append(held.segment)
        shifts[held.lease_id] = held.shift_code
    out: dict[uuid.UUID, list[tuple[uuid.UUID, MonthLoss]]] = defaultdict(list)
    leases: dict[uuid.UUID, Lease] = {}
    for (lease_id, seat_id), segments in sorted(by_lease_seat.items(), key=lambda kv: (str(kv[0][0]), labels.get(kv[0][1], ""))):
        if lease_id not in leases:
            leases[lease_id] = await get_or_404(session, Lease, lease_id, "lease")
        price_on = await _price_on(session, leases[lease_id])
        for loss in seat_losses(segments, site.timezone, ticket.occurred_at, ticket.resolved_at, price_on, rule):
            out[lease_id].append((seat_id, loss))
    result = []
    for lease_id, losses in out.items():
        lines = [
            {
                "seat_id": str(seat_id),
                "seat_label": labels.get(seat_id, ""),
                "shift": shifts[lease_id],
                "period": loss.period,
                "hours_lost": str((Decimal(loss.lost_seconds) / 3600).quantize(Decimal("0.01"))),
                "month_leased_hours": str((Decimal(loss.month_leased_seconds) / 3600).quantize(Decimal("0.01"))),
                "monthly_price_minor": loss.monthly_price_minor,
                "amount_minor": loss.amount_minor,
            }
            for seat_id, loss in losses
        ]
        seconds = sum(loss.lost_seconds for _, loss in losses)
        result.append(
            LeaseLoss(
                leases[lease_id],
                lines,
                min(loss.period for _, loss in losses),
                (Decimal(seconds) / 3600).quantize(Decimal("0.01")),
                sum(loss.amount_minor for _, loss in losses),
            )
        )
    return result


async def propose_for_ticket(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, rule: DowntimeRule
) -> list[DowntimeCredit]:
    """The ticket's credits, proposing those not proposed yet (once per lease, ever); refused for a
    ticket that is not a resolved outage."""
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
    if not _is_outage(ticket, rule):
        raise InvalidState(
            f"a {ticket.category} ticket is not an outage: credits are for {', '.join(rule.categories)} tickets", field="category"
        )
    if ticket.status not in ("resolved", "closed") or ticket.resolved_at is None:
        raise InvalidState("the outage is not resolved yet: its lost hours are not known", field="status")
    await _propose(session, actor, ticket, rule)
    return await credits_of(session, ticket.id)


async def _propose(session: AsyncSession, actor: Actor, ticket: Ticket, rule: DowntimeRule) -> int:
    site = await session.get(Site, ticket.site_id)
    assert site is not None
    made = 0
    if ticket.resolved_at is not None:
        check = insert(DowntimeCheck).values(ticket_id=ticket.id, resolved_at=ticket.resolved_at)
        await session.execute(
            check.on_conflict_do_update(
                index_elements=["ticket_id"], set_={"resolved_at": check.excluded.resolved_at, "checked_at": func.now()}
            )
        )
    for loss in await compute(session, ticket, rule):
        status = "no_credit" if loss.amount_minor == 0 else "awaiting_invoice"
        new_id = await session.scalar(
            insert(DowntimeCredit)
            .values(
                id=uuid.uuid4(),
                ticket_id=ticket.id,
                lease_id=loss.lease.id,
                client_id=loss.lease.client_id,
                site_id=ticket.site_id,
                period=loss.period,
                currency=site.currency,
                hours_lost=loss.hours_lost,
                amount_minor=loss.amount_minor,
                lines=loss.lines,
                status=status,
                note="below the minimum outage" if status == "no_credit" else "",
            )
            .on_conflict_do_nothing(index_elements=["ticket_id", "lease_id"])
            .returning(DowntimeCredit.id)
        )
        if new_id is None:
            continue  # proposed before (or by a pass running at the same time): never twice
        made += 1
        credit = await session.get(DowntimeCredit, new_id)
        assert credit is not None
        await record(
            session,
            actor,
            "downtime_credit.propose",
            "downtime_credit",
            credit.id,
            after=snapshot(credit),
            client_id=credit.client_id,
        )
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                actor_id=actor.subject,
                actor=actor.label,
                kind="downtime_credit",
                public=False,  # the client sees the credit note itself once issued, not a proposal
                data={
                    "lease_id": str(loss.lease.id),
                    "amount_minor": loss.amount_minor,
                    "currency": site.currency,
                    "hours_lost": str(loss.hours_lost),
                },
            )
        )
        if status == "awaiting_invoice":
            try:
                async with session.begin_nested():
                    await _raise_credit_note(session, actor, credit, ticket, rule)
            except DomainError as exc:  # kept awaiting: the worker tries again, the page says why
                credit.note = exc.detail[:500]
    await session.flush()
    return made


async def _raise_credit_note(
    session: AsyncSession, actor: Actor, credit: DowntimeCredit, ticket: Ticket, rule: DowntimeRule
) -> bool:
    """The credit note against the month's issued invoice (locked: two credits on one invoice never
    both find the same room left); False when that invoice is not issued yet."""
    inv = await session.scalar(
        select(Invoice)
        .where(
            Invoice.client_id == credit.client_id,
            Invoice.site_id == credit.site_id,
            Invoice.period == credit.period,
            Invoice.status.in_(CREDITABLE),
        )
        .order_by(Invoice.created_at)
        .limit(1)
        .with_for_update()
    )
    if inv is None:
        return False
    done, _ = await credited_so_far(session, inv.id)
    amount = min(credit.amount_minor, inv.subtotal_minor - done)
    credit.invoice_id = inv.id
    credit.updated_at = datetime.now(UTC)
    if amount <= 0:
        credit.status, credit.note = "no_credit", f"invoice {inv.number_label or inv.id} has nothing left to credit"
        return True
    cn = await create_credit_note(
        session,
        actor,
        inv,
        reason=f"Service credit: {credit.hours_lost} leased hours lost to outage {reference(ticket.number)} ({ticket.category})"[
            :500
        ],
        amount_minor=amount,
        threshold_minor=rule.approval_threshold_minor,
    )
    credit.status, credit.credit_note_id = "credited", cn.id
    if amount < credit.amount_minor:
        credit.note = f"capped at {amount}: what the invoice still had to credit"
    return True


async def run_pass(maker: async_sessionmaker[AsyncSession], rule: DowntimeRule, *, now: datetime | None = None) -> dict[str, int]:
    """The worker's pass: credits proposed for outage tickets resolved within the lookback that have
    none yet, then credit notes raised for proposals whose month's invoice is now issued. One
    transaction per ticket and per proposal: one failing never holds the others back."""
    started = datetime.now(UTC)
    now = now or started
    result = {"downtime_credits_proposed": 0, "downtime_credit_notes": 0}
    async with maker() as session:
        ticket_ids = list(
            (
                await session.scalars(
                    select(Ticket.id).where(
                        Ticket.status.in_(("resolved", "closed")),
                        Ticket.category.in_(rule.categories),
                        Ticket.resolved_at >= now - timedelta(days=rule.lookback_days),
                        # looked at already, as resolved then: nothing new to find
                        ~select(DowntimeCheck.ticket_id)
                        .where(DowntimeCheck.ticket_id == Ticket.id, DowntimeCheck.resolved_at == Ticket.resolved_at)
                        .exists(),
                    )
                )
            ).all()
        )
    for ticket_id in ticket_ids:
        async with maker() as session, session.begin():
            ticket = await session.get(Ticket, ticket_id)
            if ticket is not None:
                result["downtime_credits_proposed"] += await _propose(session, WORKER, ticket, rule)
    while True:
        async with maker() as session, session.begin():
            credit = await session.scalar(
                select(DowntimeCredit)
                .where(DowntimeCredit.status == "awaiting_invoice", DowntimeCredit.updated_at < started)
                .order_by(DowntimeCredit.updated_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if credit is None:
                break
            ticket = await session.get(Ticket, credit.ticket_id)
            assert ticket is not None
            try:
                async with session.begin_nested():
                    raised = await _raise_credit_note(session, WORKER, credit, ticket, rule)
            except DomainError as exc:
                raised = False
                credit.note = exc.detail[:500]
            if raised:
                result["downtime_credit_notes"] += 1
            # looked at in this pass: the next one looks again
            credit.updated_at = started
    return result


class CreditView(NamedTuple):
    credit: DowntimeCredit
    credit_note: CreditNote | None
    invoice_label: str | None


async def credits_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[DowntimeCredit]:
    return list(
        (
            await session.scalars(
                select(DowntimeCredit).where(DowntimeCredit.ticket_id == ticket_id).order_by(DowntimeCredit.created_at)
            )
        ).all()
    )


async def credit_views(session: AsyncSession, ticket_id: uuid.UUID) -> list[CreditView]:
    """The ticket's credits with their credit note and invoice, for the admin page and the API."""
    rows = (
        await session.execute(
            select(DowntimeCredit, CreditNote, Invoice.number_label)
            .outerjoin(CreditNote, CreditNote.id == DowntimeCredit.credit_note_id)
            .outerjoin(Invoice, Invoice.id == DowntimeCredit.invoice_id)
            .where(DowntimeCredit.ticket_id == ticket_id)
            .order_by(DowntimeCredit.created_at)
        )
    ).tuples()
    return [CreditView(*r) for r in rows]
