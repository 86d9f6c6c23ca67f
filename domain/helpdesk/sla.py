"""The SLA clock of a ticket: its response and resolution due instants, paused while waiting on the client.

The ticket use-cases (domain/helpdesk/tickets.py) call `on_change` after a ticket is opened and after
every change of its status, priority or category, in the same transaction; it is the only writer of
the ticket's SLA columns (`response_due_at`, `resolution_due_at`, `sla_paused_at`, `*_breached_at`).

SLA time is the time the ticket's seat is leased (any lease of it, in the site's time zone:
domain/rules/leased_time.py); a ticket without a seat counts its lease's hours; a ticket with
neither, or whose seat is not leased long enough within the horizon, counts every hour of the
site's calendar. A due instant is the start + the policy's target + the SLA time the clock stood
still (waiting on the client, or resolved until reopened), so a priority change re-times the ticket
from its start with the new target, and a pause moves the due instants on by the SLA time it lasted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.leasing.leased_segments import leased_segments
from domain.models import LeaseSeat, Site, Ticket, TicketStatus
from domain.models.sla import SlaPolicy
from domain.models.ticket import DONE_STATUSES
from domain.rules.leased_time import always, instant_after, leased_seconds
from domain.rules.shifts import Segment
from domain.rules.sla import Clock, ClockState, clock_state, warn_seconds

# the clock stands still in these statuses
STILL_STATUSES: tuple[str, ...] = (TicketStatus.WAITING_ON_CLIENT, *DONE_STATUSES)


async def policy_for(session: AsyncSession, priority: str, category: str) -> SlaPolicy:
    policy = (
        await session.scalars(select(SlaPolicy).where(SlaPolicy.priority == priority, SlaPolicy.category == category))
    ).one_or_none()
    if policy is None:  # the migration seeds every pair; only a hand-edited database lacks one
        raise NotFound(f"no SLA policy for {priority}/{category}")
    return policy


async def sla_calendar(session: AsyncSession, ticket: Ticket) -> tuple[list[Segment], str]:
    """The segments SLA time is counted in, and the site's time zone."""
    site = await session.get(Site, ticket.site_id)
    if site is None:
        raise NotFound("site not found")
    if ticket.seat_id is not None:
        segments = [h.segment for h in await leased_segments(session, [ticket.seat_id])]
    elif ticket.lease_id is not None:
        seat_ids: Sequence[uuid.UUID] = (
            await session.scalars(select(LeaseSeat.seat_id).where(LeaseSeat.lease_id == ticket.lease_id).distinct())
        ).all()
        segments = [h.segment for h in await leased_segments(session, seat_ids) if h.lease_id == ticket.lease_id]
    else:
        segments = []
    return segments or always(), site.timezone


def _after(segments: list[Segment], zone: str, start: datetime, seconds: int) -> datetime:
    found = instant_after(segments, zone, start, seconds)
    if found is None:  # the seat's leases end before the target is spent: the rest in calendar time
        return start + timedelta(seconds=seconds)
    return found


async def on_change(session: AsyncSession, ticket: Ticket, old_status: str | None, now: datetime) -> None:
    """Set or move the ticket's due instants after a change (`old_status` None: just opened)."""
    if old_status is None or ticket.sla_started_at is None:
        ticket.sla_started_at = now
        ticket.sla_paused_seconds = 0
        ticket.sla_paused_at = None
    segments, zone = await sla_calendar(session, ticket)
    running = ticket.status not in STILL_STATUSES
    if ticket.sla_paused_at is not None and running:
        # resumed: the SLA time that passed while it stood still moves the due instants on
        ticket.sla_paused_seconds += int(leased_seconds(segments, zone, ticket.sla_paused_at, now))
        ticket.sla_paused_at = None
    elif ticket.sla_paused_at is None and not running:
        ticket.sla_paused_at = now
    if ticket.status not in DONE_STATUSES:
        policy = await policy_for(session, ticket.priority, ticket.category)
        start, paused = ticket.sla_started_at, ticket.sla_paused_seconds
        if ticket.responded_at is None:
            target = policy.response_minutes * 60
            ticket.response_due_at = _after(segments, zone, start, target + paused)
            ticket.response_warn_at = _after(segments, zone, start, warn_seconds(target, policy.due_soon_percent) + paused)
        target = policy.resolution_minutes * 60
        ticket.resolution_due_at = _after(segments, zone, start, target + paused)
        ticket.resolution_warn_at = _after(segments, zone, start, warn_seconds(target, policy.due_soon_percent) + paused)
    # a clock met late is breached (the pass may not have seen it yet); the breach is when it was due
    if ticket.response_breached_at is None and _late(ticket.responded_at, ticket.response_due_at):
        ticket.response_breached_at = ticket.response_due_at
    if ticket.resolution_breached_at is None and _late(ticket.resolved_at, ticket.resolution_due_at):
        ticket.resolution_breached_at = ticket.resolution_due_at


def _late(met: datetime | None, due: datetime | None) -> bool:
    return met is not None and due is not None and met > due


def response_clock(ticket: Ticket) -> Clock:
    return Clock(
        ticket.response_due_at,
        ticket.response_warn_at,
        ticket.responded_at,
        ticket.response_breached_at,
        ticket.sla_paused_at is not None,
    )


def resolution_clock(ticket: Ticket) -> Clock:
    return Clock(
        ticket.resolution_due_at,
        ticket.resolution_warn_at,
        ticket.resolved_at,
        ticket.resolution_breached_at,
        ticket.sla_paused_at is not None and ticket.status not in DONE_STATUSES,
    )


def sla_states(ticket: Ticket, now: datetime) -> tuple[ClockState, ClockState]:
    """(response, resolution) as the queue and the ticket page show them."""
    return clock_state(response_clock(ticket), now), clock_state(resolution_clock(ticket), now)
