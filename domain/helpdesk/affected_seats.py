"""The seats an outage ticket took down (issue 15): the ticket's own seat always, and the seats staff
add (a floor's power cut takes a row of seats). Downtime credits (billing/downtime.py) read them."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState, NotFound, ValidationFailed
from domain.models import Seat, Ticket
from domain.models.downtime import DowntimeCheck, DowntimeCredit, TicketAffectedSeat
from domain.services.audit import Actor, record
from domain.services.lookup import get_or_404


async def affected_seat_ids(session: AsyncSession, ticket: Ticket) -> list[uuid.UUID]:
    """The ticket's seat (when it has one) and the seats added to it."""
    added = (await session.scalars(select(TicketAffectedSeat.seat_id).where(TicketAffectedSeat.ticket_id == ticket.id))).all()
    seats = ([ticket.seat_id] if ticket.seat_id else []) + [s for s in added if s != ticket.seat_id]
    return seats


async def _unproposed(session: AsyncSession, ticket: Ticket) -> None:
    # a credit proposed is never proposed again: a seat added afterwards could not be counted, so the
    # set of seats is frozen from the first proposal on
    if await session.scalar(select(DowntimeCredit.id).where(DowntimeCredit.ticket_id == ticket.id).limit(1)):
        raise InvalidState("credits were already proposed for this outage: its seats can no longer change", field="seat_id")


async def add_affected_seat(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, seat_id: uuid.UUID) -> list[uuid.UUID]:
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket", for_update=True)
    seat = await session.get(Seat, seat_id)
    if seat is None:
        raise ValidationFailed("no such seat", field="seat_id")
    if seat.site_id != ticket.site_id:
        raise ValidationFailed(f"seat {seat.label} is at another site than the ticket", field="seat_id")
    await _unproposed(session, ticket)
    if seat_id != ticket.seat_id:
        added = await session.scalar(
            insert(TicketAffectedSeat)
            .values(ticket_id=ticket.id, seat_id=seat_id, added_by_id=actor.subject, added_by=actor.label)
            .on_conflict_do_nothing()
            .returning(TicketAffectedSeat.seat_id)
        )
        if added is not None:
            # the credits pass looks at the outage again: a seat added after a look that found nothing
            await session.execute(delete(DowntimeCheck).where(DowntimeCheck.ticket_id == ticket.id))
            await record(
                session,
                actor,
                "ticket.affected_seat_add",
                "ticket",
                ticket.id,
                after={"seat_id": seat_id, "seat_label": seat.label},
                client_id=ticket.client_id,
            )
    return await affected_seat_ids(session, ticket)


async def remove_affected_seat(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, seat_id: uuid.UUID) -> list[uuid.UUID]:
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket", for_update=True)
    if seat_id == ticket.seat_id:
        raise InvalidState("the ticket's own seat is always affected", field="seat_id")
    await _unproposed(session, ticket)
    gone = await session.execute(
        delete(TicketAffectedSeat).where(TicketAffectedSeat.ticket_id == ticket.id, TicketAffectedSeat.seat_id == seat_id)
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound("seat not affected by this ticket")
    await record(
        session,
        actor,
        "ticket.affected_seat_remove",
        "ticket",
        ticket.id,
        before={"seat_id": seat_id},
        client_id=ticket.client_id,
    )
    return await affected_seat_ids(session, ticket)


async def add_affected_seat_by_label(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, label: str) -> list[uuid.UUID]:
    """The admin's form names the seat as people do (its label at the ticket's site)."""
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
    seat_id = await session.scalar(select(Seat.id).where(Seat.site_id == ticket.site_id, Seat.label == label.strip()))
    if seat_id is None:
        raise ValidationFailed(f"no seat {label.strip()!r} at the ticket's site", field="seat_id")
    return await add_affected_seat(session, actor, ticket_id, seat_id)


async def affected_seats_labelled(session: AsyncSession, ticket: Ticket) -> list[tuple[uuid.UUID, str, bool]]:
    """(seat id, label, added) of the affected seats: the ticket's own seat is not `added` (not removable)."""
    ids = await affected_seat_ids(session, ticket)
    labels = dict((await session.execute(select(Seat.id, Seat.label).where(Seat.id.in_(ids)))).tuples().all())
    return [(i, labels.get(i, "?"), i != ticket.seat_id) for i in ids]
