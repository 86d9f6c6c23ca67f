"""Sites, floors, shifts, seats and plans."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, ValidationFailed
from domain.models import Floor, Inclusion, Lease, Plan, PlanPrice, Seat, Shift, Site, Zone
from domain.rules.shifts import minutes
from domain.rules.timezones import is_site_timezone
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog_schemas import FloorCreate, PlanCreate, SeatCreate, SeatUpdate, ShiftCreate, SiteCreate, SiteUpdate
from domain.services.lookup import get_or_404
from domain.services.paging import keyset_page, sorted_keyset_page

FULL = "FULL"


def site_today(site: Site, now: datetime | None = None) -> date:
    """Today's date on the site's own calendar."""
    tz = ZoneInfo(site.timezone)
    return (now.astimezone(tz) if now else datetime.now(tz)).date()


async def check_timezone(session: AsyncSession, name: str) -> None:
    """A site's time zone is a real IANA zone that both PostgreSQL (which computes the sites' local
    dates in SQL) and Python (which computes them in code) accept. The one place this rule lives."""
    real = is_site_timezone(name) and bool(
        await session.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :n)"), {"n": name})
    )
    if not real:
        raise ValidationFailed(f"{name!r} is not an IANA time zone (e.g. Asia/Manila)", field="timezone")


async def get_site(session: AsyncSession, site_id: uuid.UUID) -> Site:
    return await get_or_404(session, Site, site_id, "site")


async def create_site(session: AsyncSession, actor: Actor, body: SiteCreate) -> Site:
    data = body.model_dump()
    await check_timezone(session, data["timezone"])
    exists = await session.scalar(select(Site.id).where(Site.code == data["code"]))
    if exists:
        raise Conflict(f"a site with code {data['code']} exists", field="code")
    site = Site(**data)
    session.add(site)
    await session.flush()
    session.add(Shift(site_id=site.id, code=FULL, name="Full day", starts_at=time(0), ends_at=time(0)))
    await record(session, actor, "site.create", "site", site.id, after=snapshot(site))
    await session.flush()
    return site


async def update_site(session: AsyncSession, actor: Actor, site: Site, body: SiteUpdate) -> Site:
    """The fields given (a field left out keeps its value)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "timezone" in changes:
        await check_timezone(session, changes["timezone"])
    await _check_identity(session, site, changes)
    before = snapshot(site)
    for k, v in changes.items():
        setattr(site, k, v)
    await session.flush()
    await record(session, actor, "site.update", "site", site.id, before=before, after=snapshot(site))
    return site


async def _check_identity(session: AsyncSession, site: Site, changes: dict[str, object]) -> None:
    """A site's code is on its leases' documents and its currency is every plan's and lease's: each
    changes only while nothing depends on it (set-up pages, issue 13)."""
    if changes.get("code", site.code) != site.code:
        if await session.scalar(select(Site.id).where(Site.code == changes["code"], Site.id != site.id)):
            raise Conflict(f"a site with code {changes['code']} exists", field="code")
        if await session.scalar(select(Lease.id).where(Lease.site_id == site.id).limit(1)):
            raise Conflict("the site has leases: its code is on their documents and stays", field="code")
    if changes.get("currency", site.currency) != site.currency:
        priced = await session.scalar(select(Plan.id).where(Plan.site_id == site.id).limit(1)) or await session.scalar(
            select(Lease.id).where(Lease.site_id == site.id).limit(1)
        )
        if priced:
            raise Conflict("the site's plans and leases are priced in its currency: it stays", field="currency")


async def create_floor(session: AsyncSession, actor: Actor, site: Site, body: FloorCreate) -> Floor:
    name, level = body.name, body.level
    if await session.scalar(select(Floor.id).where(Floor.site_id == site.id, Floor.name == name)):
        raise Conflict(f"floor {name} exists on this site", field="name")
    floor = Floor(site_id=site.id, name=name, level=level)
    session.add(floor)
    await session.flush()
    await record(session, actor, "floor.create", "floor", floor.id, after=snapshot(floor))
    return floor


async def get_floor(session: AsyncSession, floor_id: uuid.UUID) -> Floor:
    return await get_or_404(session, Floor, floor_id, "floor")


async def create_shift(session: AsyncSession, actor: Actor, site: Site, body: ShiftCreate) -> Shift:
    data = body.model_dump()
    if data["code"].upper() == FULL:
        raise Conflict("FULL exists on every site", field="code")
    if data["starts_at"] == data["ends_at"]:
        raise ValidationFailed("a named shift needs a window; FULL is the whole day", field="ends_at")
    if await session.scalar(select(Shift.id).where(Shift.site_id == site.id, shift_code_is(data["code"]))):
        raise Conflict(f"shift {data['code']} exists on this site", field="code")
    shift = Shift(site_id=site.id, **data)
    session.add(shift)
    await session.flush()
    await record(session, actor, "shift.create", "shift", shift.id, after=snapshot(shift))
    return shift


# --- API polish (issue 14): a shift code is given in any case (`night` is `NIGHT`) ---
def shift_code_is(code: Any) -> Any:
    """The SQL test "this shift's code is ``code``, whatever its case"."""
    return func.upper(Shift.code) == func.upper(code)


async def unknown_shift(session: AsyncSession, site_id: uuid.UUID, code: str) -> ValidationFailed:
    """The 422 for a shift the site does not have, naming `shift` and listing the site's codes."""
    codes = sorted((await session.scalars(select(Shift.code).where(Shift.site_id == site_id))).all())
    return ValidationFailed(
        f"no shift {code} on this site; its shifts are: {', '.join(codes)}", field="shift", valid_shifts=codes
    )


async def get_shift(session: AsyncSession, site_id: uuid.UUID, code: str) -> Shift:
    shift = await session.scalar(select(Shift).where(Shift.site_id == site_id, shift_code_is(code)).order_by(Shift.code))
    if shift is None:
        raise await unknown_shift(session, site_id, code)
    return shift


_SHIFT_WINDOW = (
    select(Shift.starts_at, Shift.ends_at)
    .where(Shift.site_id == bindparam("site"), shift_code_is(bindparam("code")))
    .order_by(Shift.code)
    .limit(1)
)


async def site_shift_window(session: AsyncSession, site_id: uuid.UUID, code: str) -> tuple[int, int]:
    """The daily window of the site's shift ``code``, in one lookup (an availability search's hot
    path); the site is looked up only to tell an unknown site (404) from an unknown shift."""
    conn = await session.connection()  # Core: no ORM entities to load
    row = (await conn.execute(_SHIFT_WINDOW, {"site": site_id, "code": code})).first()
    if row is None:
        await get_site(session, site_id)
        raise await unknown_shift(session, site_id, code)
    return minutes(row.starts_at), minutes(row.ends_at)


def shift_window(shift: Shift) -> tuple[int, int]:
    return minutes(shift.starts_at), minutes(shift.ends_at)


async def create_seats(session: AsyncSession, actor: Actor, site: Site, floor: Floor, body: SeatCreate) -> list[Seat]:
    """Seats on `floor` (the one `body.floor_id` names, looked up by the caller): `body.labels` laid out
    `columns` to a row from (x, y), or below the floor's seats when no position is given; or one
    `body.label`. Positions are grid cells on the floor, the same for every zone (the seat map draws
    them as they are)."""
    zone, x, y, columns = body.zone, body.x, body.y, body.columns
    labels: Sequence[str] = body.labels if body.labels is not None else [body.label or ""]
    if floor.site_id != site.id:
        raise ValidationFailed("floor is not on this site", field="floor_id")
    taken = set((await session.scalars(select(Seat.label).where(Seat.site_id == site.id, Seat.label.in_(labels)))).all())
    if taken:
        raise Conflict(f"labels already used on this site: {', '.join(sorted(taken)[:10])}", field="labels")
    seats = []
    if x is not None and y is not None:
        x0, y0 = x, y
    else:
        # below what the floor already has, a row left free for the zone's name on the map
        max_y = await session.scalar(select(func.max(Seat.y)).where(Seat.floor_id == floor.id))
        x0, y0 = 0, (0 if max_y is None else max_y + 2)
    positions = [(x0 + i % columns, y0 + i // columns) for i in range(len(labels))]
    for label, (sx, sy) in zip(labels, positions, strict=True):
        seats.append(Seat(site_id=site.id, floor_id=floor.id, zone=zone, label=label, x=sx, y=sy))
    session.add_all(seats)
    await session.flush()
    await record(
        session,
        actor,
        "seat.create",
        "floor",
        floor.id,
        after={"zone": zone, "labels": list(labels), "count": len(seats)},
    )
    return seats


async def get_seat(session: AsyncSession, seat_id: uuid.UUID) -> Seat:
    return await get_or_404(session, Seat, seat_id, "seat")


async def update_seat(session: AsyncSession, actor: Actor, seat: Seat, body: SeatUpdate) -> Seat:
    """The fields given (a field left out keeps its value)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    before = snapshot(seat)
    for k, v in changes.items():
        setattr(seat, k, v)
    await session.flush()
    await record(session, actor, "seat.update", "seat", seat.id, before=before, after=snapshot(seat))
    return seat


async def create_plan(session: AsyncSession, actor: Actor, site: Site, body: PlanCreate) -> Plan:
    data = body.model_dump()
    inclusions = data.pop("inclusions", [])
    if await session.scalar(select(Plan.id).where(Plan.site_id == site.id, Plan.name == data["name"])):
        raise Conflict(f"plan {data['name']} exists on this site", field="name")
    plan = Plan(**data)
    session.add(plan)
    await session.flush()
    session.add_all(Inclusion(plan_id=plan.id, **inc) for inc in inclusions)
    await session.flush()
    await record(session, actor, "plan.create", "plan", plan.id, after={**snapshot(plan), "inclusions": inclusions})
    return plan


async def get_plan(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    return await get_or_404(session, Plan, plan_id, "plan")


async def plan_inclusions(session: AsyncSession, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Inclusion]]:
    rows = (await session.scalars(select(Inclusion).where(Inclusion.plan_id.in_(plan_ids)).order_by(Inclusion.code))).all()
    out: dict[uuid.UUID, list[Inclusion]] = {pid: [] for pid in plan_ids}
    for inc in rows:
        out[inc.plan_id].append(inc)
    return out


# ---- lookups that answer 422 (an id given in a body, not in the path) ---------------------------


async def site_for(session: AsyncSession, site_id: uuid.UUID) -> Site:
    """The site a body names, or 422 on ``site_id``."""
    site = await session.get(Site, site_id)
    if site is None:
        raise ValidationFailed("no such site", field="site_id")
    return site


async def floor_on_site(session: AsyncSession, site: Site, floor_id: uuid.UUID) -> Floor:
    """The floor a body names, on this site, or 422 on ``floor_id``."""
    floor = await session.get(Floor, floor_id)
    if floor is None or floor.site_id != site.id:
        raise ValidationFailed("no such floor on this site", field="floor_id")
    return floor


# ---- read-models ------------------------------------------------------------------------------


async def list_sites(session: AsyncSession, *, cursor: str | None, limit: int) -> tuple[list[Site], str | None]:
    return await keyset_page(session, select(Site), Site.id, cursor, limit)


async def all_sites(session: AsyncSession) -> list[Site]:
    """Every site, by code."""
    return list((await session.scalars(select(Site).order_by(Site.code))).all())


async def list_floors(session: AsyncSession, site_id: uuid.UUID) -> list[Floor]:
    stmt = select(Floor).where(Floor.site_id == site_id).order_by(Floor.level, Floor.name)
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class ZoneView:
    """A floor's zone as shown and picked: ``code`` is what a seat's ``zone`` holds, ``name`` what
    people read; ``id`` is None for a code that seats use but nobody has named yet (written by a
    path that did not create the zone row), ``seats`` how many seats (any status) carry the code."""

    id: uuid.UUID | None
    floor_id: uuid.UUID
    code: str
    name: str
    seats: int


async def list_zones(session: AsyncSession, floor_id: uuid.UUID) -> list[ZoneView]:
    """The floor's zones by code: the named ones (issue 13's ``zones``) and any code its seats use
    without a row, so a picker or a page never hides a zone that the seat map draws."""
    named = (await session.scalars(select(Zone).where(Zone.floor_id == floor_id))).all()
    used = select(Seat.zone, func.count()).where(Seat.floor_id == floor_id).group_by(Seat.zone)
    counts = dict((await session.execute(used)).tuples().all())
    out = {z.code: ZoneView(z.id, floor_id, z.code, z.name or z.code, counts.get(z.code, 0)) for z in named}
    for code, n in counts.items():
        out.setdefault(code, ZoneView(None, floor_id, code, code, n))
    return [out[c] for c in sorted(out)]


async def list_shifts(session: AsyncSession, site_id: uuid.UUID) -> list[Shift]:
    return list((await session.scalars(select(Shift).where(Shift.site_id == site_id).order_by(Shift.starts_at))).all())


async def list_seats(
    session: AsyncSession,
    site_id: uuid.UUID,
    *,
    floor_id: uuid.UUID | None = None,
    zone: str | None = None,
    status: str | None = None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Seat], str | None]:
    stmt = select(Seat).where(Seat.site_id == site_id)
    if floor_id:
        stmt = stmt.where(Seat.floor_id == floor_id)
    if zone:
        stmt = stmt.where(Seat.zone == zone)
    if status:
        stmt = stmt.where(Seat.status == status)
    # label order as people read it ("A-2" before "A-10"), issue 14
    return await sorted_keyset_page(session, stmt, Seat.label_key, Seat.id, cursor, limit)


@dataclass(frozen=True)
class PricedInclusion:
    """An inclusion as shown today: its unit price is the plan's price in force (issue 11)."""

    id: uuid.UUID
    code: str
    name: str
    kind: str
    billing: str
    unit_price_minor: int
    device_kind: str | None
    quantity_per_seat: int


@dataclass(frozen=True)
class PlanView:
    """A plan as it is shown: with its site's currency, its inclusions, and the prices in force
    today on the site's calendar (its latest dated price, else as created; issue 11). The response
    schema (`catalog_schemas.Plan`) reads it attribute by attribute."""

    plan: Plan
    currency: str
    inclusions: list[PricedInclusion]
    price: PlanPrice | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.plan.id

    @property
    def site_id(self) -> uuid.UUID:
        return self.plan.site_id

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def monthly_price_minor(self) -> int:
        return self.price.monthly_price_minor if self.price else self.plan.monthly_price_minor

    @property
    def setup_fee_minor(self) -> int:
        return self.price.setup_fee_minor if self.price else self.plan.setup_fee_minor

    @property
    def deposit_months(self) -> int:
        return self.price.deposit_months if self.price else self.plan.deposit_months

    @property
    def notice_days(self) -> int:
        return self.plan.notice_days


def _priced(inc: Inclusion, price: PlanPrice | None) -> PricedInclusion:
    unit = int(price.add_on_prices.get(inc.code, inc.unit_price_minor)) if price else inc.unit_price_minor
    return PricedInclusion(inc.id, inc.code, inc.name, inc.kind, inc.billing, unit, inc.device_kind, inc.quantity_per_seat)


async def plan_views(session: AsyncSession, plans: Sequence[Plan]) -> list[PlanView]:
    if not plans:
        return []
    incs = await plan_inclusions(session, [p.id for p in plans])
    sites = {x.id: x for x in (await session.scalars(select(Site).where(Site.id.in_({p.site_id for p in plans})))).all()}
    today = {sid: site_today(site) for sid, site in sites.items()}
    # each plan's latest dated price on or before its site's today (a handful of rows per plan)
    site_of = {p.id: p.site_id for p in plans}
    latest: dict[uuid.UUID, PlanPrice] = {}
    for row in (
        await session.scalars(
            select(PlanPrice)
            .where(PlanPrice.plan_id.in_([p.id for p in plans]), PlanPrice.effective_from <= max(today.values()))
            .order_by(PlanPrice.effective_from)
        )
    ).all():
        if row.effective_from <= today[site_of[row.plan_id]]:
            latest[row.plan_id] = row
    out = []
    for p in plans:
        price = latest.get(p.id)
        out.append(PlanView(p, sites[p.site_id].currency, [_priced(i, price) for i in incs[p.id]], price))
    return out


async def list_plans(
    session: AsyncSession, *, site_id: uuid.UUID | None, cursor: str | None, limit: int
) -> tuple[list[PlanView], str | None]:
    stmt = select(Plan)
    if site_id:
        stmt = stmt.where(Plan.site_id == site_id)
    rows, nxt = await keyset_page(session, stmt, Plan.id, cursor, limit)
    return await plan_views(session, rows), nxt
