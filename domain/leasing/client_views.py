"""Read-models of the client portal's leasing screens (issue 14): what one client sees of its own
leases, seats and agents. Each function takes the tenant's id and reads only that tenant's rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import queries
from domain.leasing.floor_map import SeatView
from domain.leasing.renewal import up_for_renewal
from domain.models import Lease, Member, Seat, SeatAssignment, Site
from domain.services.catalog import site_today

# how far ahead the overview looks for starts and ends
UPCOMING_DAYS = 30


@dataclass
class Upcoming:
    """The overview's cards: leases starting or ending within UPCOMING_DAYS, those up for renewal,
    and the proposals waiting for the client's answer."""

    starts: list[queries.LeaseListRow] = field(default_factory=list)
    ends: list[queries.LeaseListRow] = field(default_factory=list)
    renewals: list[queries.LeaseListRow] = field(default_factory=list)
    proposals: list[queries.LeaseListRow] = field(default_factory=list)
    horizon_days: int = UPCOMING_DAYS


async def client_lease_rows(session: AsyncSession, client_id: uuid.UUID) -> list[queries.LeaseListRow]:
    """The client's leases (its open proposals apart), newest start first, with site, team and seats."""
    return await queries.lease_list(session, queries.LeaseListFilter(client_id=client_id))


async def client_proposals(session: AsyncSession, client_id: uuid.UUID) -> list[queries.LeaseListRow]:
    """The proposals the facility sent the client that still wait for its answer."""
    return await queries.lease_list(session, queries.LeaseListFilter(client_id=client_id, status="proposed"))


async def site_days(session: AsyncSession, site_ids: set[uuid.UUID]) -> dict[uuid.UUID, date]:
    """Today on each site's own calendar."""
    if not site_ids:
        return {}
    sites = (await session.scalars(select(Site).where(Site.id.in_(site_ids)))).all()
    return {s.id: site_today(s) for s in sites}


async def upcoming(session: AsyncSession, client_id: uuid.UUID, renewal_window_days: int) -> Upcoming:
    rows = await client_lease_rows(session, client_id)
    today = await site_days(session, {r.lease.site_id for r in rows})
    out = Upcoming(proposals=await client_proposals(session, client_id))
    for r in rows:
        lease, day = r.lease, today[r.lease.site_id]
        horizon = day + timedelta(days=UPCOMING_DAYS)
        if lease.status in ("pending_approval", "confirmed") and day <= lease.start_date <= horizon:
            out.starts.append(r)
        if lease.status in ("confirmed", "active") and lease.end_date is not None and day <= lease.end_date <= horizon:
            out.ends.append(r)
        if up_for_renewal(lease, day, renewal_window_days):
            out.renewals.append(r)
    out.starts.sort(key=lambda r: r.lease.start_date)
    out.ends.sort(key=lambda r: r.lease.end_date or date.max)
    out.renewals.sort(key=lambda r: r.lease.term_end_date or date.max)
    return out


def by_site_and_shift(rows: list[queries.LeaseListRow]) -> list[tuple[str, str, list[queries.LeaseListRow]]]:
    """The leases grouped by site and shift, as the portal's list shows them (site code, shift code)."""
    groups: dict[tuple[str, str], list[queries.LeaseListRow]] = {}
    for r in rows:
        groups.setdefault((r.site_code, r.lease.shift_code), []).append(r)
    return [(site, shift, groups[(site, shift)]) for site, shift in sorted(groups)]


def seat_title(s: SeatView, agents: dict[uuid.UUID, str], lease_id: uuid.UUID | None = None) -> str:
    """A seat's hover text on the client's map: its own seats with the agent seated (a seat of another
    of its leases says so), another tenant's only "taken" (never who holds it)."""
    if s.state == "mine":
        if lease_id is not None and all(h.lease_id != lease_id for h in s.holders):
            return f"{s.label}: your seat, on another of your leases"
        agent = agents.get(s.id)
        return f"{s.label}: your seat" + (f", {agent}" if agent else ", no agent assigned")
    if s.state == "taken":
        return f"{s.label}: taken"
    return f"{s.label}: {s.state}"


@dataclass(frozen=True)
class MemberSeat:
    lease_id: uuid.UUID
    seat_label: str
    site_code: str
    shift_code: str
    lease_status: str


async def member_seats(session: AsyncSession, member_id: uuid.UUID) -> list[MemberSeat]:
    """Where an agent sits: the seats they are assigned to, on which lease."""
    rows = await session.execute(
        select(SeatAssignment.lease_id, Seat.label, Site.code, Lease.shift_code, Lease.status)
        .join(Seat, Seat.id == SeatAssignment.seat_id)
        .join(Lease, Lease.id == SeatAssignment.lease_id)
        .join(Site, Site.id == Lease.site_id)
        .where(SeatAssignment.member_id == member_id)
        .order_by(Site.code, Seat.label)
    )
    return [MemberSeat(*r) for r in rows.tuples()]


async def seats_of_members(session: AsyncSession, client_id: uuid.UUID) -> dict[uuid.UUID, list[str]]:
    """Each of the client's agents' seat labels (the teams page)."""
    rows = await session.execute(
        select(SeatAssignment.member_id, Seat.label)
        .join(Seat, Seat.id == SeatAssignment.seat_id)
        .join(Member, Member.id == SeatAssignment.member_id)
        .where(Member.client_id == client_id)
        .order_by(Seat.label)
    )
    out: dict[uuid.UUID, list[str]] = {}
    for member_id, label in rows.tuples():
        out.setdefault(member_id, []).append(label)
    return out


async def client_seating(session: AsyncSession, client_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    """Who sits at each of the client's seats, per lease: (lease id, seat id) -> the agent's name."""
    rows = await session.execute(
        select(SeatAssignment.lease_id, SeatAssignment.seat_id, Member.name)
        .join(Member, Member.id == SeatAssignment.member_id)
        .where(Member.client_id == client_id)
    )
    return {(lease_id, seat_id): name for lease_id, seat_id, name in rows.tuples()}


def floor_seat_title(s: SeatView, seating: dict[tuple[uuid.UUID, uuid.UUID], str]) -> str:
    """A seat's hover text on the client's floor page: each of its own leases of the seat (a DAY and a
    NIGHT lease may share it) with its shift and agent; another tenant's seat only "taken"."""
    if s.state != "mine":
        return seat_title(s, {})
    held = "; ".join(f"{h.shift} {seating.get((h.lease_id, s.id), 'no agent assigned')}" for h in s.holders)
    return f"{s.label}: your seat, {held}"


def client_site_ids(rows: list[queries.LeaseListRow]) -> list[uuid.UUID]:
    """The sites the client leases on (live leases first-seen order)."""
    seen: dict[uuid.UUID, None] = {}
    for r in rows:
        if r.lease.status in ("pending_approval", "confirmed", "active"):
            seen.setdefault(r.lease.site_id, None)
    return list(seen)
