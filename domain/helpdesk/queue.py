"""The staff's ticket queue (issue 15): open tickets by their nearest due instant, with their SLA
flags, filtered, in pages that new tickets don't shift (a keyset cursor on (due instant, id)).

One SQL on ``ix_tickets_queue`` (migration 0038: the open tickets' ``sla_next_due_at, id``): the sort
and the cursor are the index's order, the filters are checked as the index is walked, and the
site, seat, client and assignee are joined by primary key for the page's rows only.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.models import Client, Seat, Site, Ticket, User
from domain.rules.sla import ClockState
from domain.rules.ticket_flow import DONE_STATUSES

from .sla import sla_states


@dataclass(frozen=True)
class QueueFilters:
    site_id: uuid.UUID | None = None
    status: str | None = None  # one of OPEN_STATUSES
    category: str | None = None
    priority: str | None = None
    assignee_id: uuid.UUID | None = None  # "mine" is the signed-in user's id here
    unassigned: bool = False
    due_soon: bool = False
    breached: bool = False


@dataclass(frozen=True)
class QueueCursor:
    due_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.due_at.isoformat()}|{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, field: str = "after") -> QueueCursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _, ident = raw.partition("|")
            due = datetime.fromisoformat(at)
            if due.tzinfo is None:
                raise ValueError(at)
            return cls(due, uuid.UUID(ident))
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise ValidationFailed("not a page of this queue", field=field) from exc


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    site_code: str
    seat_label: str | None
    client_name: str | None
    assignee: str | None
    response: ClockState
    resolution: ClockState

    @property
    def due_soon(self) -> bool:
        return ClockState.DUE_SOON in (self.response, self.resolution)

    @property
    def breached(self) -> bool:
        return ClockState.BREACHED in (self.response, self.resolution) or self.response == ClockState.MET_LATE


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: QueueCursor | None


def _next_warn() -> ColumnElement[datetime | None]:
    return case((Ticket.responded_at.is_(None), Ticket.response_warn_at), else_=Ticket.resolution_warn_at)


def breached_sql(now: datetime) -> ColumnElement[bool]:
    """Breached, as `domain/rules/sla.py clock_state` reads it: marked, or running past its due instant
    (the response's due instant comes first, so `sla_next_due_at` past is enough)."""
    return or_(
        Ticket.response_breached_at.is_not(None),
        Ticket.resolution_breached_at.is_not(None),
        and_(Ticket.sla_paused_at.is_(None), Ticket.resolution_due_at.is_not(None), Ticket.sla_next_due_at <= now),
    )


def due_soon_sql(now: datetime) -> ColumnElement[bool]:
    return and_(
        Ticket.sla_paused_at.is_(None),
        Ticket.response_breached_at.is_(None),
        Ticket.resolution_breached_at.is_(None),
        _next_warn() <= now,
        Ticket.sla_next_due_at > now,
    )


def _conditions(f: QueueFilters, now: datetime) -> list[ColumnElement[bool]]:
    # the index's own predicate, spelled as it is so the planner uses the partial index
    where: list[ColumnElement[bool]] = [Ticket.status.not_in(DONE_STATUSES)]
    if f.status is not None:
        where.append(Ticket.status == f.status)
    if f.site_id is not None:
        where.append(Ticket.site_id == f.site_id)
    if f.category is not None:
        where.append(Ticket.category == f.category)
    if f.priority is not None:
        where.append(Ticket.priority == f.priority)
    if f.assignee_id is not None:
        where.append(Ticket.assignee_id == f.assignee_id)
    if f.unassigned:
        where.append(Ticket.assignee_id.is_(None))
    if f.due_soon:
        where.append(due_soon_sql(now))
    if f.breached:
        where.append(breached_sql(now))
    return where


async def ticket_queue(
    session: AsyncSession, filters: QueueFilters, *, now: datetime, after: QueueCursor | None = None, limit: int = 50
) -> QueuePage:
    """A page of the queue: open tickets, nearest due instant first (then by id), after `after`."""
    where = _conditions(filters, now)
    if after is not None:
        where.append(tuple_(Ticket.sla_next_due_at, Ticket.id) > tuple_(after.due_at, after.id))
    stmt = (
        select(Ticket, Site.code, Seat.label, Client.legal_name, User.email)
        .join(Site, Site.id == Ticket.site_id)
        .outerjoin(Seat, Seat.id == Ticket.seat_id)
        .outerjoin(Client, Client.id == Ticket.client_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(*where)
        .order_by(Ticket.sla_next_due_at, Ticket.id)
        .limit(limit + 1)
    )
    result = (await session.execute(stmt)).all()
    rows = [QueueRow(t, site, seat, client, assignee, *sla_states(t, now)) for t, site, seat, client, assignee in result[:limit]]
    nxt = None
    if len(result) > limit:
        last = rows[-1].ticket
        nxt = QueueCursor(last.sla_next_due_at, last.id)
    return QueuePage(rows, nxt)


@dataclass(frozen=True)
class DoneRow:
    ticket: Ticket
    site_code: str
    seat_label: str | None
    client_name: str | None


async def recently_done(session: AsyncSession, *, site_id: uuid.UUID | None = None, limit: int = 20) -> list[DoneRow]:
    """The latest resolved or closed tickets, last resolved first: where staff find a ticket the queue no
    longer shows (to read it, reopen it, swap its device or see its downtime credit). A reopened ticket
    loses its `resolved_at`, so every done ticket has one (read on `ix_tickets_resolved_at`)."""
    where: list[ColumnElement[bool]] = [Ticket.status.in_(DONE_STATUSES), Ticket.resolved_at.is_not(None)]
    if site_id is not None:
        where.append(Ticket.site_id == site_id)
    rows = await session.execute(
        select(Ticket, Site.code, Seat.label, Client.legal_name)
        .join(Site, Site.id == Ticket.site_id)
        .outerjoin(Seat, Seat.id == Ticket.seat_id)
        .outerjoin(Client, Client.id == Ticket.client_id)
        .where(*where)
        .order_by(Ticket.resolved_at.desc(), Ticket.id)
        .limit(limit)
    )
    return [DoneRow(*r) for r in rows.all()]


async def ticket_id_by_number(session: AsyncSession, text: str) -> uuid.UUID | None:
    """The ticket people name "T-1042" (or 1042)."""
    digits = text.strip().upper().removeprefix("T-").removeprefix("T")
    if not digits.isdigit() or len(digits) > 18:
        return None
    found: uuid.UUID | None = await session.scalar(select(Ticket.id).where(Ticket.number == int(digits)))
    return found


async def staff_assignees(session: AsyncSession) -> list[User]:
    """Who a ticket can be assigned to: active facility staff and admins."""
    rows = await session.scalars(
        select(User)
        .where(User.role.in_(("admin", "facility_staff")), User.active.is_(True), User.client_id.is_(None))
        .order_by(User.email)
    )
    return list(rows)
