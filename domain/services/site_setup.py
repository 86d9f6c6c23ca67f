"""Issue 13, set-up from the admin: a floor renamed, zones named per floor, a shift edited, a plan's
inclusions and add-ons added and edited. Each use-case validates, writes and records its audit event;
the API and the admin call the same ones.

What is already booked never moves: a shift's hours are copied into every lease seat and read by the
reports, so they change only while no lease (other than a cancelled one) uses the shift; what a seat
of a plan includes changes only while the plan has no live lease. Names change freely."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound, ValidationFailed
from domain.models import Floor, Inclusion, Lease, Plan, Seat, SeatStatus, Shift, Zone
from domain.models.lease import LIVE_LEASE_STATUSES, LeaseStatus
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import FULL
from domain.services.catalog_schemas import InclusionIn
from domain.services.lookup import get_or_404
from domain.services.setup_schemas import FloorUpdate, InclusionUpdate, ShiftUpdate, ZoneCreate, ZoneUpdate

# a lease that holds, will hold or is offered seats: what it was priced with stays as booked
_HOLDING = (*LIVE_LEASE_STATUSES, LeaseStatus.PROPOSED)


async def update_floor(session: AsyncSession, actor: Actor, floor: Floor, body: FloorUpdate) -> Floor:
    """Rename a floor or change its level (the fields given)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    name = changes.get("name")
    if name is not None and name != floor.name:
        taken = await session.scalar(
            select(Floor.id).where(Floor.site_id == floor.site_id, Floor.name == name, Floor.id != floor.id)
        )
        if taken:
            raise Conflict(f"floor {name} exists on this site", field="name")
    before = snapshot(floor)
    for k, v in changes.items():
        setattr(floor, k, v)
    await session.flush()
    await record(session, actor, "floor.update", "floor", floor.id, before=before, after=snapshot(floor))
    return floor


# ---- zones -------------------------------------------------------------------------------------


async def get_zone(session: AsyncSession, zone_id: uuid.UUID) -> Zone:
    return await get_or_404(session, Zone, zone_id, "zone")


async def create_zone(session: AsyncSession, actor: Actor, floor: Floor, body: ZoneCreate) -> Zone:
    """Name a zone of the floor, before or after seats carry its code (a code the seats already
    use gets its name this way). 409 naming ``code`` when the floor has it named already."""
    # the unique key decides between two people naming the same code at once
    new_id = await session.scalar(
        insert(Zone)
        .values(floor_id=floor.id, code=body.code, name=body.name)
        .on_conflict_do_nothing(index_elements=["floor_id", "code"])
        .returning(Zone.id)
    )
    if new_id is None:
        raise Conflict(f"zone {body.code} exists on this floor; edit its name instead", field="code")
    zone = await session.get_one(Zone, new_id)
    await record(session, actor, "zone.create", "zone", zone.id, after=snapshot(zone))
    return zone


async def update_zone(session: AsyncSession, actor: Actor, zone: Zone, body: ZoneUpdate) -> Zone:
    before = snapshot(zone)
    zone.name = body.name
    await session.flush()
    await record(session, actor, "zone.update", "zone", zone.id, before=before, after=snapshot(zone))
    return zone


# ---- shifts ------------------------------------------------------------------------------------


async def get_shift_by_id(session: AsyncSession, shift_id: uuid.UUID) -> Shift:
    return await get_or_404(session, Shift, shift_id, "shift")


async def update_shift(session: AsyncSession, actor: Actor, shift: Shift, body: ShiftUpdate) -> Shift:
    """The shift's name, or its hours while no lease uses it. A lease copies its shift's window into
    its seats at booking, and the invoices, occupancy and revenue reports read the shift's hours: a
    window moved under booked leases would bill and report hours nobody booked, so it is refused
    (409 naming the field) — a new shift with the new hours is the way. A night shift (ends before
    it starts) is legal; equal times are FULL's alone."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    # row-locked: FOR UPDATE conflicts with the key-share lock a booking takes when it reads the
    # window (domain/leasing/booking.py), so an edit waits for a booking still in flight and then
    # counts its lease, and a booking that comes during the edit waits and copies the new window.
    await session.refresh(shift, with_for_update=True)
    hours = {k: v for k, v in changes.items() if k in ("starts_at", "ends_at") and v != getattr(shift, k)}
    if hours:
        first = "starts_at" if "starts_at" in hours else "ends_at"
        if shift.code == FULL:
            raise ValidationFailed("FULL is the whole day on every site; its hours do not change", field=first)
        starts, ends = hours.get("starts_at", shift.starts_at), hours.get("ends_at", shift.ends_at)
        if starts == ends:
            raise ValidationFailed("a named shift needs a window; FULL is the whole day", field="ends_at")
        used = await session.scalar(
            select(func.count()).select_from(Lease).where(Lease.shift_id == shift.id, Lease.status != LeaseStatus.CANCELLED)
        )
        if used:
            raise Conflict(
                f"{used} lease{'s' if used != 1 else ''} booked shift {shift.code} with its hours "
                f"{shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}: they are billed and reported on them; "
                "add a new shift with the new hours instead",
                field=first,
            )
    before = snapshot(shift)
    for k, v in changes.items():
        setattr(shift, k, v)
    await session.flush()
    await record(session, actor, "shift.update", "shift", shift.id, before=before, after=snapshot(shift))
    return shift


# ---- a plan's inclusions and add-ons --------------------------------------------------------------


async def _live_leases(session: AsyncSession, plan: Plan) -> int:
    stmt = select(func.count()).select_from(Lease).where(Lease.plan_id == plan.id, Lease.status.in_(_HOLDING))
    return int(await session.scalar(stmt) or 0)


async def add_inclusion(session: AsyncSession, actor: Actor, plan: Plan, body: InclusionIn) -> Inclusion:
    """An add-on (billed monthly or once, per unit) joins the plan at once: a lease buys it only if
    it asks. An included item would change what every seat already booked receives (and prints on
    its invoices), so it joins only a plan with no live lease (409 naming ``billing``)."""
    await session.refresh(plan, with_for_update=True)
    if await session.scalar(select(Inclusion.id).where(Inclusion.plan_id == plan.id, Inclusion.code == body.code)):
        raise Conflict(f"the plan has {body.code} already", field="code")
    if body.billing == "included":
        live = await _live_leases(session, plan)
        if live:
            raise Conflict(
                f"the plan has {live} live lease{'s' if live != 1 else ''}: an included item would change what their seats "
                "were booked with; add it as an add-on, or make a new plan",
                field="billing",
            )
    inc = Inclusion(plan_id=plan.id, **body.model_dump())
    session.add(inc)
    await session.flush()
    await record(session, actor, "plan.inclusion_add", "plan", plan.id, after=snapshot(inc))
    return inc


async def get_inclusion(session: AsyncSession, plan: Plan, code: str) -> Inclusion:
    inc = await session.scalar(select(Inclusion).where(Inclusion.plan_id == plan.id, Inclusion.code == code))
    if inc is None:
        raise NotFound(f"the plan has no inclusion {code}")
    return inc


async def update_inclusion(session: AsyncSession, actor: Actor, plan: Plan, inc: Inclusion, body: InclusionUpdate) -> Inclusion:
    """Rename an inclusion any time; its kind, device and quantity per seat decide what a booked
    seat receives (devices, the invoice's included lines), so they change only while the plan has no
    live lease (409 naming the field). A price changes by a dated plan price, never here."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True, exclude_none=True).items() if getattr(inc, k) != v}
    await session.refresh(plan, with_for_update=True)
    bundle = [k for k in ("kind", "device_kind", "quantity_per_seat") if k in changes]
    if bundle:
        live = await _live_leases(session, plan)
        if live:
            raise Conflict(
                f"the plan has {live} live lease{'s' if live != 1 else ''} booked with {inc.code} as it is; "
                "only its name can change now",
                field=bundle[0],
            )
    before = snapshot(inc)
    for k, v in changes.items():
        setattr(inc, k, v)
    await session.flush()
    await record(session, actor, "plan.inclusion_update", "plan", plan.id, before=before, after=snapshot(inc))
    return inc


# ---- read-models of the set-up pages --------------------------------------------------------------


@dataclass(frozen=True)
class FloorRow:
    floor: Floor
    seats: int
    zones: int


async def floor_rows(session: AsyncSession, site_id: uuid.UUID) -> list[FloorRow]:
    """The site's floors by level, each with how many seats (any status) and named zones it has."""
    seats = select(func.count()).select_from(Seat).where(Seat.floor_id == Floor.id).scalar_subquery()
    zones = select(func.count()).select_from(Zone).where(Zone.floor_id == Floor.id).scalar_subquery()
    rows = await session.execute(select(Floor, seats, zones).where(Floor.site_id == site_id).order_by(Floor.level, Floor.name))
    return [FloorRow(f, int(s), int(z)) for f, s, z in rows.tuples()]


async def site_counts(session: AsyncSession) -> dict[uuid.UUID, tuple[int, int]]:
    """Each site's (floors, seats other than retired)."""
    floors = dict((await session.execute(select(Floor.site_id, func.count()).group_by(Floor.site_id))).tuples().all())
    seats = dict(
        (
            await session.execute(
                select(Seat.site_id, func.count()).where(Seat.status != SeatStatus.RETIRED).group_by(Seat.site_id)
            )
        )
        .tuples()
        .all()
    )
    return {sid: (int(floors.get(sid, 0)), int(seats.get(sid, 0))) for sid in set(floors) | set(seats)}


async def shift_usage(session: AsyncSession, site_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """How many leases (other than cancelled ones) booked each of the site's shifts."""
    stmt = (
        select(Lease.shift_id, func.count())
        .where(Lease.site_id == site_id, Lease.status != LeaseStatus.CANCELLED)
        .group_by(Lease.shift_id)
    )
    return {k: int(v) for k, v in (await session.execute(stmt)).tuples().all()}


async def live_leases_of_plan(session: AsyncSession, plan: Plan) -> int:
    return await _live_leases(session, plan)
