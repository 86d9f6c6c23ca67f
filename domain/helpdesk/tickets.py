"""The ticket use-cases: raise, change status, assign, re-classify; and the worker's pass that closes
resolved tickets once their reopen window has passed.

Each change locks the ticket's row first (access.get_ticket(for_update=True)): two changes at once run one
after the other, the second deciding on the first's result. Each writes one history row, one audit event
and tells the client (history.log_change), and a change of status, priority or category calls the SLA
hook (sla.on_change) in the same transaction. Comments and attachments: domain/helpdesk/comments.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, InvalidState, ValidationFailed
from domain.helpdesk import sla
from domain.helpdesk.access import TICKET_STAFF, get_ticket, is_ticket_staff, require_actor, require_staff
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.history import log_change
from domain.helpdesk.references import resolve_refs
from domain.helpdesk.schemas import Requester, TicketCreate
from domain.models.ticket import Ticket
from domain.models.user import User
from domain.rules import ticket_flow as flow
from domain.services.audit import SystemActor

VIAS = ("api", "portal", "admin", "system")


class AutoCloser(SystemActor):
    """The worker closing resolved tickets after their reopen window."""

    role = "system"
    client_id: uuid.UUID | None = None

    def __init__(self) -> None:
        super().__init__("ticket-auto-close")


async def raise_ticket(
    session: AsyncSession, who: Requester, req: TicketCreate, *, via: str, now: datetime | None = None
) -> Ticket:
    """Open a ticket (status new). A client raises for itself only, about its own seat, lease, device and
    agent (references.resolve_refs); `occurred_at` may be earlier than now, never later."""
    require_actor(who)
    if via not in VIAS:
        raise ValueError(f"unknown edge {via!r}")
    now = now or datetime.now(UTC)
    refs = await resolve_refs(session, who, req, now)
    occurred = req.occurred_at or now
    if occurred.tzinfo is None:
        raise ValidationFailed("occurred_at needs a time zone offset", field="occurred_at")
    if occurred > now:
        raise ValidationFailed("occurred_at is in the future", field="occurred_at")
    ticket = Ticket(
        id=uuid.uuid4(),
        site_id=refs.site_id,
        client_id=refs.client_id,
        seat_id=refs.seat_id,
        device_id=refs.device_id,
        lease_id=refs.lease_id,
        member_id=refs.member_id,
        category=req.category,
        priority=req.priority,
        status=flow.NEW,
        subject=req.subject,
        description=req.description,
        raised_by_id=who.subject,
        raised_by=who.label,
        raised_via=via,
        occurred_at=occurred,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    await log_change(session, who, ticket, kind="raised", action="ticket.raise", now=now, public=True, to_status=flow.NEW)
    await sla.on_change(session, ticket, None, now)
    return ticket


async def change_status(
    session: AsyncSession,
    who: Requester,
    ticket_id: uuid.UUID,
    to_status: str,
    *,
    config: TicketConfig,
    resolution: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Move a ticket along the workflow (domain/rules/ticket_flow.py). Resolving needs the resolution's
    text; a reopen (resolved → in_progress) counts `reopened_count`; the first staff status change is the
    ticket's response (`responded_at`)."""
    require_actor(who)
    now = now or datetime.now(UTC)
    ticket = await get_ticket(session, who, ticket_id, for_update=True)
    staff = is_ticket_staff(who)
    old = ticket.status
    refused = flow.refusal(old, to_status, staff=staff, resolved_at=ticket.resolved_at, now=now, reopen_days=config.reopen_days)
    if refused is not None:
        raise (Forbidden if refused.kind == "forbidden" else InvalidState)(refused.reason, field="status")
    resolution = resolution.strip()
    if to_status == flow.RESOLVED and not resolution:
        raise ValidationFailed("say what resolved it", field="resolution")
    data: dict[str, object] = {}
    ticket.status = to_status
    if to_status == flow.RESOLVED:
        ticket.resolved_at, ticket.resolution = now, resolution
        data["resolution"] = resolution
    elif to_status == flow.CLOSED:
        ticket.closed_at = now
    elif flow.is_reopen(old, to_status):
        ticket.reopened_count += 1
        data["reopen"] = True
        data["previous_resolution"] = ticket.resolution
        ticket.resolved_at, ticket.resolution = None, ""
    if staff and ticket.responded_at is None and flow.counts_as_response(staff=True, public=True):
        ticket.responded_at = now
    await log_change(
        session,
        who,
        ticket,
        kind="status",
        action="ticket.status",
        now=now,
        public=True,
        from_status=old,
        to_status=to_status,
        data=data,
    )
    await sla.on_change(session, ticket, old, now)
    return ticket


async def assign(
    session: AsyncSession, who: Requester, ticket_id: uuid.UUID, assignee_id: uuid.UUID | None, *, now: datetime | None = None
) -> Ticket:
    """Give the ticket to an active admin or facility_staff user (None: nobody). Internal: not the client's."""
    require_staff(who, "assigning a ticket")
    now = now or datetime.now(UTC)
    ticket = await get_ticket(session, who, ticket_id, for_update=True)
    assignee = None
    if assignee_id is not None:
        assignee = await session.scalar(
            select(User).where(
                User.id == assignee_id, User.role.in_(TICKET_STAFF), User.active.is_(True), User.client_id.is_(None)
            )
        )
        if assignee is None:
            raise ValidationFailed("not an active admin or facility_staff user", field="assignee_id")
    if ticket.assignee_id == assignee_id:
        return ticket
    before = {"assignee_id": ticket.assignee_id}
    ticket.assignee_id = assignee_id
    await log_change(
        session,
        who,
        ticket,
        kind="assigned",
        action="ticket.assign",
        now=now,
        public=False,
        data={"assignee_id": str(assignee_id) if assignee_id else None, "assignee": assignee.email if assignee else None},
        before=before,
    )
    return ticket


async def change_triage(
    session: AsyncSession,
    who: Requester,
    ticket_id: uuid.UUID,
    *,
    priority: str | None = None,
    category: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Staff re-classify a ticket (priority, category); the SLA's targets follow."""
    require_staff(who, "re-classifying a ticket")
    if priority is None and category is None:
        raise ValidationFailed("give a priority or a category", field="priority")
    now = now or datetime.now(UTC)
    ticket = await get_ticket(session, who, ticket_id, for_update=True)
    if ticket.status == flow.CLOSED:
        raise InvalidState("a closed ticket is final", field="status")
    data: dict[str, object] = {}
    if priority is not None and priority != ticket.priority:
        data["priority"] = [ticket.priority, priority]
        ticket.priority = priority
    if category is not None and category != ticket.category:
        data["category"] = [ticket.category, category]
        ticket.category = category
    if not data:
        return ticket
    await log_change(session, who, ticket, kind="triage", action="ticket.triage", now=now, public=True, data=data)
    await sla.on_change(session, ticket, ticket.status, now)
    return ticket


async def close_resolved(session: AsyncSession, *, config: TicketConfig, now: datetime | None = None, limit: int = 200) -> int:
    """The worker's pass: close resolved tickets whose reopen window has passed (skipping rows another
    transaction holds: a change in flight finishes first, the next pass sees its result). Returns how many."""
    now = now or datetime.now(UTC)
    due = flow.reopen_deadline(now, -config.reopen_days)  # resolved before this instant
    rows = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.status == flow.RESOLVED, Ticket.resolved_at < due)
            .order_by(Ticket.resolved_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    actor = AutoCloser()
    for ticket in rows:
        if not flow.due_for_auto_close(ticket.status, ticket.resolved_at, now, config.reopen_days):
            continue
        ticket.status, ticket.closed_at = flow.CLOSED, now
        await log_change(
            session,
            actor,
            ticket,
            kind="status",
            action="ticket.status",
            now=now,
            public=True,
            from_status=flow.RESOLVED,
            to_status=flow.CLOSED,
            data={"automatic": True},
        )
        await sla.on_change(session, ticket, flow.RESOLVED, now)
    return len(rows)
