"""The SLA breach pass (run by the worker): a clock past its due instant is marked breached, once,
and staff are told, once: the assignee, or every facility staff login when nobody is assigned.

Rows are claimed with FOR UPDATE SKIP LOCKED and marked in the transaction that queues the email,
so two workers, or one run twice, never tell staff twice; the email's dedupe key says the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Role, Ticket, TicketEvent, User
from domain.models.ticket import DONE_STATUSES
from domain.services.mail import queue_email

BATCH = 200


async def _recipients(session: AsyncSession, ticket: Ticket) -> list[str]:
    if ticket.assignee_id is not None:
        assignee = await session.get(User, ticket.assignee_id)
        if assignee is not None and assignee.active:
            return [assignee.email]
    for role in (Role.FACILITY_STAFF, Role.ADMIN):  # no facility staff login at all: the admins
        found = (
            await session.scalars(
                select(User.email).where(User.role == role, User.active.is_(True), User.client_id.is_(None)).order_by(User.email)
            )
        ).all()
        if found:
            return list(found)
    return []


async def mark_breaches(session: AsyncSession, now: datetime | None = None, *, batch: int = BATCH) -> dict[str, Any]:
    """Mark the clocks that ran out by `now`; returns how many of each were marked."""
    now = now or datetime.now(UTC)
    response_due = and_(Ticket.responded_at.is_(None), Ticket.response_breached_at.is_(None), Ticket.response_due_at <= now)
    resolution_due = and_(Ticket.resolution_breached_at.is_(None), Ticket.resolution_due_at <= now)
    tickets = (
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.status.not_in(DONE_STATUSES),
                Ticket.sla_paused_at.is_(None),
                Ticket.sla_next_due_at <= now,  # walks ix_tickets_queue: the earliest clock of each is this
                or_(response_due, resolution_due),
            )
            .order_by(Ticket.sla_next_due_at, Ticket.id)
            .limit(batch)
            .with_for_update(of=Ticket, skip_locked=True)
        )
    ).all()
    counts = {"response_breaches": 0, "resolution_breaches": 0}
    for t in tickets:
        clocks: list[tuple[str, datetime]] = []
        if t.responded_at is None and t.response_breached_at is None and t.response_due_at and t.response_due_at <= now:
            t.response_breached_at = t.response_due_at
            clocks.append(("response", t.response_due_at))
        if t.resolution_breached_at is None and t.resolution_due_at and t.resolution_due_at <= now:
            t.resolution_breached_at = t.resolution_due_at
            clocks.append(("resolution", t.resolution_due_at))
        to = await _recipients(session, t)
        for clock, due in clocks:
            counts[f"{clock}_breaches"] += 1
            session.add(
                TicketEvent(
                    ticket_id=t.id,
                    at=now,
                    actor="sla",
                    kind="sla_breached",
                    public=False,
                    data={"clock": clock, "due_at": due.isoformat(), "told": to},
                )
            )
            if to:
                await queue_email(
                    session,
                    to=to,
                    subject=f"SLA breached: T-{t.number} {clock} was due {due.strftime('%Y-%m-%d %H:%M')} UTC",
                    body=(
                        f"Ticket T-{t.number} ({t.priority}, {t.category}): {t.subject}\n\n"
                        f"Its {clock} was due at {due.isoformat()} and the clock ran out.\n"
                        f"{'You are its assignee.' if t.assignee_id else 'Nobody is assigned to it.'}\n\n"
                        f"Open it: /admin/tickets/{t.id}\n"
                    ),
                    dedupe_key=f"ticket-sla-breach:{t.id}:{clock}",
                    topic="ticket.sla_breach",
                    client_id=None,
                    object_id=t.id,
                )
    await session.flush()
    return counts
