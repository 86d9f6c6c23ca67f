"""Read-models of the leasing screens and answers: one typed function per question the API or the
admin asks, so that the edges only call and render."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.leasing.availability import count_free_seats, free_seats
from domain.leasing.renewal import DEFAULT_RENEWAL_WINDOW_DAYS, up_for_renewal_clause
from domain.leasing.schemas import Lease as LeaseOut
from domain.leasing.schemas import LeaseCreate
from domain.leasing.views import lease_filter, lease_views, not_an_open_or_dead_proposal
from domain.models import (
    Client,
    Floor,
    Inclusion,
    Lease,
    LeaseAmendment,
    LeaseSeat,
    Member,
    Plan,
    Seat,
    SeatAssignment,
    Shift,
    Site,
    Team,
)
from domain.services.catalog import get_shift, plan_inclusions, shift_window
from domain.services.paging import sorted_keyset_page
from domain.services.plan_prices import PlanTerms, price_in_force


async def lease_page(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    status: str | None,
    site_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    up_for_renewal: bool | None = None,
    renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS,
) -> tuple[list[Lease], str | None]:
    """One page of leases by start date, then id (issue 14; keyset paging): the rows and the
    `next_cursor` (the last id), None on the last page."""
    stmt = select(Lease).where(*lease_filter(client_id, status, site_id))
    # --- renewal (issue 11) ---
    if up_for_renewal is not None:
        due = up_for_renewal_clause(renewal_window_days)
        stmt = stmt.where(due if up_for_renewal else func.coalesce(due, literal(False)).is_(False))
    # --- end renewal ---
    return await sorted_keyset_page(session, stmt, Lease.start_date, Lease.id, cursor, limit)


async def lease_assignments(session: AsyncSession, lease_id: uuid.UUID) -> list[SeatAssignment]:
    return list((await session.scalars(select(SeatAssignment).where(SeatAssignment.lease_id == lease_id))).all())


class LeaseListRow(NamedTuple):
    lease: Lease
    client_name: str
    site_code: str
    team_name: str
    seats: int


class LeaseListFilter(NamedTuple):
    status: str | None = None
    site_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    client_name_contains: str | None = None
    starts_from: date | None = None
    # --- renewal (issue 11): only the leases up for renewal within this many days ---
    up_for_renewal_within: int | None = None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def lease_list(session: AsyncSession, f: LeaseListFilter, *, limit: int = 300) -> list[LeaseListRow]:
    """The admin's lease list: newest start first, with the client, site, team and seat count."""
    seats = (
        select(func.count(func.distinct(LeaseSeat.seat_id)))
        .where(LeaseSeat.lease_id == Lease.id, LeaseSeat.voided.is_(False))
        .scalar_subquery()
    )
    stmt = (
        select(Lease, Client.legal_name, Site.code, Team.name, seats.label("seats"))
        .join(Client, Client.id == Lease.client_id)
        .join(Site, Site.id == Lease.site_id)
        .join(Team, Team.id == Lease.team_id)
    )
    if f.status is not None:
        stmt = stmt.where(Lease.status == f.status)
    if f.status != "proposed":
        stmt = stmt.where(not_an_open_or_dead_proposal())
    if f.site_id is not None:
        stmt = stmt.where(Lease.site_id == f.site_id)
    if f.client_id is not None:
        stmt = stmt.where(Lease.client_id == f.client_id)
    if f.client_name_contains:
        stmt = stmt.where(Client.legal_name.ilike(f"%{_like(f.client_name_contains)}%"))
    if f.starts_from is not None:
        stmt = stmt.where(Lease.start_date >= f.starts_from)
    if f.up_for_renewal_within is not None:  # --- renewal (issue 11) ---
        stmt = stmt.where(up_for_renewal_clause(f.up_for_renewal_within))
    rows = (await session.execute(stmt.order_by(Lease.start_date.desc(), Lease.id).limit(limit))).all()
    return [LeaseListRow(*r) for r in rows]


async def all_clients(session: AsyncSession) -> list[Client]:
    return list((await session.scalars(select(Client).order_by(Client.legal_name))).all())


class TeamChoice(NamedTuple):
    team: Team
    client_name: str


async def team_choices(session: AsyncSession) -> list[TeamChoice]:
    """Every team with its client's name, by client then team (the booking form's picker)."""
    rows = (
        await session.execute(
            select(Team, Client.legal_name).join(Client, Client.id == Team.client_id).order_by(Client.legal_name, Team.name)
        )
    ).all()
    return [TeamChoice(*r) for r in rows]


async def seat_ids_by_label(session: AsyncSession, site_id: uuid.UUID, labels: Sequence[str]) -> dict[str, uuid.UUID]:
    """The seats of a site with these labels (labels not found are left out)."""
    rows = await session.execute(select(Seat.label, Seat.id).where(Seat.site_id == site_id, Seat.label.in_(labels)))
    return dict(rows.tuples().all())


async def seat_labels(session: AsyncSession, seat_ids: Sequence[uuid.UUID]) -> list[str]:
    return list((await session.scalars(select(Seat.label).where(Seat.id.in_(seat_ids)))).all())


class SeatRelease(NamedTuple):
    label: str
    member: Member | None  # who sits there now
    earliest: date  # the first day it can be free: tomorrow, and not before the lease starts


async def seat_release_facts(session: AsyncSession, lease: Lease, seat_id: uuid.UUID, today: date) -> SeatRelease:
    """What releasing one of a lease's seats touches, for the question asked before it (admin, portal)."""
    labels = await seat_labels(session, [seat_id])
    member_id = next((a.member_id for a in await lease_assignments(session, lease.id) if a.seat_id == seat_id), None)
    member = await session.get(Member, member_id) if member_id else None
    return SeatRelease(labels[0] if labels else "this seat", member, max(today + timedelta(days=1), lease.start_date))


async def member_labels(session: AsyncSession, members: Sequence[Member]) -> dict[uuid.UUID, str]:
    """How a picker names each member: name, team and employee id ("Ana Cruz — Inbound · E-1042"),
    so that two agents of one name are told apart."""
    team_ids = {m.team_id for m in members}
    teams = (
        dict((await session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))).tuples().all()) if team_ids else {}
    )
    out: dict[uuid.UUID, str] = {}
    for m in members:
        label = f"{m.name} — {teams.get(m.team_id, '?')}"
        out[m.id] = f"{label} · {m.employee_id}" if m.employee_id else label
    return out


class LeaseDetail(NamedTuple):
    view: LeaseOut
    floors: list[Floor]  # the floors of its current seats, by level
    assignments: dict[uuid.UUID, uuid.UUID]  # seat → member
    members: list[Member]  # the client's active members, by name
    amendments: list[LeaseAmendment]  # oldest first


async def lease_detail(
    session: AsyncSession, lease: Lease, *, renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS
) -> LeaseDetail:
    """What the admin's lease page shows beyond the lease itself."""
    view = (await lease_views(session, [lease], renewal_window_days=renewal_window_days))[0]
    floor_ids = {x.floor_id for x in view.seats}
    floors = list((await session.scalars(select(Floor).where(Floor.id.in_(floor_ids)).order_by(Floor.level))).all())
    assignments = {a.seat_id: a.member_id for a in await lease_assignments(session, lease.id)}
    members = list(
        (
            await session.scalars(
                select(Member).where(Member.client_id == lease.client_id, Member.active.is_(True)).order_by(Member.name)
            )
        ).all()
    )
    amendments = list(
        (
            await session.scalars(
                select(LeaseAmendment).where(LeaseAmendment.lease_id == lease.id).order_by(LeaseAmendment.created_at)
            )
        ).all()
    )
    return LeaseDetail(view, floors, assignments, members, amendments)


async def site_plans(session: AsyncSession, site_id: uuid.UUID) -> list[Plan]:
    return list((await session.scalars(select(Plan).where(Plan.site_id == site_id).order_by(Plan.name))).all())


class BookingPreview(NamedTuple):
    site: Site
    plan: Plan
    shift: Shift
    add_ons: list[tuple[Inclusion, int]]
    included: list[Inclusion]  # what the plan's seat price includes
    free: int  # seats free for that shift and dates now
    seats: int  # seats asked for
    terms: PlanTerms | None = None  # the plan's prices in force on the start date (what the lease would copy)


async def preview_booking(session: AsyncSession, body: LeaseCreate) -> BookingPreview:
    """What a booking would take, checked against what is free now (the admin shows it with a quote
    before the booking itself); writes nothing. A refusal is a ValidationFailed naming the field."""
    site = await session.get(Site, body.site_id)
    plan = await session.get(Plan, body.plan_id)
    if site is None:
        raise ValidationFailed("no such site", field="site_id")
    if plan is None or plan.site_id != site.id:
        raise ValidationFailed("choose a plan of this site", field="plan_id")
    shift = await get_shift(session, site.id, body.shift)
    incs = {i.code: i for i in (await plan_inclusions(session, [plan.id]))[plan.id]}
    add_ons: list[tuple[Inclusion, int]] = []
    for a in body.add_ons:
        inc = incs.get(a.code)
        if inc is None or inc.billing == "included":
            raise ValidationFailed(f"{a.code} is not an add-on of this plan", field="add_ons")
        add_ons.append((inc, a.quantity))
    window = shift_window(shift)
    free = await count_free_seats(session, site.id, window, body.start_date, body.end_date)
    seats = body.seat_count if body.seat_count is not None else len(body.seat_ids or [])
    if body.seat_count is not None and body.seat_count > free:
        raise ValidationFailed(f"only {free} seats are free for that shift and dates", field="seat_count")
    if body.seat_ids:
        free_ids = {x.id for x in await free_seats(session, site.id, window, body.start_date, body.end_date)}
        taken = [x for x in body.seat_ids if x not in free_ids]
        if taken:
            labels = await seat_labels(session, taken)
            raise ValidationFailed(f"not free for that shift and dates: {', '.join(sorted(labels))}", field="seat_ids")
    included = [i for i in incs.values() if i.billing == "included"]
    terms = await price_in_force(session, plan, body.start_date)
    return BookingPreview(site, plan, shift, add_ons, included, free, seats, terms)
