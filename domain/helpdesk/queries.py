"""The help desk's read-models: a ticket's view, the ticket list, its comments, attachments and history,
each as the requester may see it (a client: its own tickets, nothing internal)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.helpdesk.access import get_ticket, reference, scoped, sees_internal
from domain.helpdesk.schemas import AttachmentOut, CommentOut, EventOut, Requester, TicketOut
from domain.models.ticket import Ticket, TicketAttachment, TicketComment, TicketEvent
from domain.rules import ticket_flow as flow
from domain.services.paging import sorted_keyset_page


def ticket_view(ticket: Ticket, who: Requester, *, reopen_days: int) -> TicketOut:
    staff = sees_internal(who)
    return TicketOut(
        id=ticket.id,
        number=ticket.number,
        reference=reference(ticket.number),
        client_id=ticket.client_id,
        site_id=ticket.site_id,
        seat_id=ticket.seat_id,
        device_id=ticket.device_id,
        lease_id=ticket.lease_id,
        member_id=ticket.member_id,
        category=ticket.category,  # type: ignore[arg-type]  # the check constraint keeps it one of them
        priority=ticket.priority,  # type: ignore[arg-type]
        status=ticket.status,  # type: ignore[arg-type]
        subject=ticket.subject,
        description=ticket.description,
        raised_by=ticket.raised_by,
        raised_via=ticket.raised_via,
        assignee_id=ticket.assignee_id if staff else None,
        occurred_at=ticket.occurred_at,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        responded_at=ticket.responded_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        resolution=ticket.resolution,
        reopened_count=ticket.reopened_count,
        reopen_until=flow.reopen_deadline(ticket.resolved_at, reopen_days)
        if ticket.status == flow.RESOLVED and ticket.resolved_at
        else None,
        response_due_at=ticket.response_due_at,
        resolution_due_at=ticket.resolution_due_at,
    )


@dataclass(frozen=True)
class TicketFilter:
    status: Sequence[str] = ()
    category: Sequence[str] = ()
    priority: Sequence[str] = ()
    state: str | None = None  # "open" | "closed" (closed: resolved or closed)
    client_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    seat_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    lease_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None


async def list_tickets(
    session: AsyncSession, who: Requester, f: TicketFilter, *, cursor: str | None, limit: int
) -> tuple[list[Ticket], str | None]:
    """A page of tickets, newest first (created_at, then id), on the keyset cursor of every list."""
    stmt = scoped(select(Ticket), who)
    if f.status:
        stmt = stmt.where(Ticket.status.in_(list(f.status)))
    if f.category:
        stmt = stmt.where(Ticket.category.in_(list(f.category)))
    if f.priority:
        stmt = stmt.where(Ticket.priority.in_(list(f.priority)))
    if f.state == "open":
        stmt = stmt.where(Ticket.status.in_(sorted(flow.OPEN_STATUSES)))
    elif f.state == "closed":
        stmt = stmt.where(Ticket.status.in_([flow.RESOLVED, flow.CLOSED]))
    elif f.state is not None:
        raise ValidationFailed("state is open or closed", field="state")
    for col, value in (
        (Ticket.client_id, f.client_id),
        (Ticket.site_id, f.site_id),
        (Ticket.seat_id, f.seat_id),
        (Ticket.device_id, f.device_id),
        (Ticket.lease_id, f.lease_id),
    ):
        if value is not None:
            stmt = stmt.where(col == value)
    if f.assignee_id is not None and sees_internal(who):
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    return await sorted_keyset_page(session, stmt, Ticket.created_at, Ticket.id, cursor, limit, descending=True)


def comment_view(c: TicketComment) -> CommentOut:
    return CommentOut(id=c.id, ticket_id=c.ticket_id, author=c.author, internal=c.internal, body=c.body, created_at=c.created_at)


def attachment_view(a: TicketAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        ticket_id=a.ticket_id,
        filename=a.filename,
        content_type=a.content_type,
        size_bytes=a.size_bytes,
        sha256=a.sha256,
        internal=a.internal,
        uploaded_by=a.uploaded_by,
        created_at=a.created_at,
    )


def event_view(e: TicketEvent) -> EventOut:
    return EventOut(
        id=e.id,
        at=e.at,
        actor=e.actor,
        kind=e.kind,
        from_status=e.from_status,  # type: ignore[arg-type]
        to_status=e.to_status,  # type: ignore[arg-type]
        public=e.public,
        data=dict(e.data),
    )


async def comments_of(session: AsyncSession, who: Requester, ticket_id: uuid.UUID) -> list[TicketComment]:
    ticket = await get_ticket(session, who, ticket_id)
    stmt = select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    if not sees_internal(who):
        stmt = stmt.where(TicketComment.internal.is_(False))
    return list((await session.scalars(stmt.order_by(TicketComment.created_at, TicketComment.id))).all())


async def attachments_of(session: AsyncSession, who: Requester, ticket_id: uuid.UUID) -> list[TicketAttachment]:
    ticket = await get_ticket(session, who, ticket_id)
    stmt = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
    if not sees_internal(who):
        stmt = stmt.where(TicketAttachment.internal.is_(False))
    return list((await session.scalars(stmt.order_by(TicketAttachment.created_at, TicketAttachment.id))).all())


async def events_of(session: AsyncSession, who: Requester, ticket_id: uuid.UUID) -> list[TicketEvent]:
    """The ticket's history, oldest first; a client's view has only the public rows."""
    ticket = await get_ticket(session, who, ticket_id)
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if not sees_internal(who):
        stmt = stmt.where(TicketEvent.public.is_(True))
    return list((await session.scalars(stmt.order_by(TicketEvent.id))).all())


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: TicketEvent
    comment: TicketComment | None
    attachment: TicketAttachment | None


async def timeline(session: AsyncSession, who: Requester, ticket_id: uuid.UUID) -> list[TimelineEntry]:
    """The history with each comment and attachment beside its row (the portal's and the admin's timeline)."""
    events = await events_of(session, who, ticket_id)
    comments = {str(c.id): c for c in await comments_of(session, who, ticket_id)}
    atts = {str(a.id): a for a in await attachments_of(session, who, ticket_id)}
    return [
        TimelineEntry(e.at, e, comments.get(str(e.data.get("comment_id"))), atts.get(str(e.data.get("attachment_id"))))
        for e in events
    ]
