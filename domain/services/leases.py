"""Leases: availability, booking, amendments, lifecycle, assignments.

No double booking is enforced by PostgreSQL (the exclusion constraint on lease_seats);
this module never checks-then-inserts to decide whether a seat is free.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from domain import events
from domain.errors import Conflict, Forbidden, InvalidState, NotFound, SeatsUnavailable, ValidationFailed
from domain.models import (
    Client,
    Inclusion,
    Lease,
    LeaseAddOn,
    LeaseAmendment,
    LeaseSeat,
    LeaseSeatSegment,
    Member,
    Plan,
    Seat,
    SeatAssignment,
    Shift,
    Site,
    Team,
)
from domain.rules.allocation import FreeSeat, ZoneKey, ZonePlan
from domain.rules.shifts import occupancy_segments
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import shift_window, site_today
from domain.services.charges import ClientLimits, charge_cancellation_fee
from domain.services.lookup import get_or_404

ALLOCATION_ATTEMPTS = 12
LIVE_STATUSES = ("pending_approval", "confirmed", "active")


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


# 'infinity' as a literal, not a bind, so that the expression matches ix_lease_seat_segments_site_live
_OPEN_END = literal_column("'infinity'::date", Date)


def _next_day(d: Any) -> Any:
    """The day after a date or after a SQL date expression (a bind parameter)."""
    if isinstance(d, date):
        return d + timedelta(days=1)
    return type_coerce(d + literal_column("1", Integer), Date)


def _conflicting_rows(site_id: Any, window: tuple[int, int], start: Any, end: Any | None) -> ColumnElement[bool]:
    """A live lease of Seat.id holds some minute that a lease of this window and term would.

    The rule is domain/rules/shifts.py ``leases_conflict``: the asked lease's occupancy segments
    (``occupancy_segments``: its window on its dates, and a night's morning tail on the next
    dates) against the stored segments of every live lease seat (table lease_seat_segments, the
    one the exclusion constraint guards, migration 0008_night_tail), so a seat shown free is
    exactly a seat the database lets a booking take. ``start``/``end`` may be SQL bind parameters:
    the tail's dates are computed in SQL.

    The date overlap is written on the columns: for inclusive ranges with NULL as the open end,
    ``daterange(s1, e1, '[]') && daterange(s2, e2, '[]')`` is ``s1 <= e2 AND coalesce(e1, inf) >= s2``.
    In this form PostgreSQL reads one site's segments still running on or after the start from
    the index ix_lease_seat_segments_site_live alone and skips the past."""
    seg = LeaseSeatSegment
    tests: list[ColumnElement[bool]] = []
    for i, part in enumerate(occupancy_segments(window, date.min, None if end is None else date.min)):
        # part 0 is on the asked dates, part 1 (a night's tail) on the dates one later
        s_ = start if i == 0 else _next_day(start)
        conds: list[ColumnElement[bool]] = [seg.win_lo < part.hi, seg.win_hi > part.lo]
        if i:
            conds.append(func.coalesce(seg.end_date, _OPEN_END) >= s_)
        if end is not None:
            conds.append(seg.start_date <= (end if i == 0 else _next_day(end)))
        tests.append(and_(*conds))
    return exists().where(
        seg.site_id == site_id,
        seg.seat_id == Seat.id,
        # every part starts on or after ``start``: this bound serves the index range scan
        func.coalesce(seg.end_date, _OPEN_END) >= start,
        or_(*tests),
    )


def _free(site_id: Any, window: tuple[int, int], start: Any, end: Any | None) -> tuple[ColumnElement[bool], ...]:
    return Seat.site_id == site_id, Seat.status == "active", ~_conflicting_rows(site_id, window, start, end)


_MAP_ORDER = (Seat.floor_id, Seat.zone, Seat.y, Seat.x)


async def free_seats(
    session: AsyncSession,
    site_id: uuid.UUID,
    window: tuple[int, int],
    start: date,
    end: date | None,
    *,
    limit: int | None = None,
) -> list[Seat]:
    stmt = select(Seat).where(*_free(site_id, window, start, end)).order_by(*_MAP_ORDER)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


async def count_free_seats(
    session: AsyncSession, site_id: uuid.UUID, window: tuple[int, int], start: date, end: date | None
) -> int:
    stmt = select(func.count(Seat.id)).where(*_free(site_id, window, start, end))
    return int(await session.scalar(stmt) or 0)


_SITE = bindparam("site", type_=Seat.site_id.type)
_START, _END = bindparam("start", type_=Date()), bindparam("end", type_=Date())
# the booking statement, built once per (shift window, bounded term): building the free-seat
# test costs more Python than running it does
_zone_stmts: dict[tuple[tuple[int, int], bool], Any] = {}


class ZoneSeats(NamedTuple):
    """The free seats of one zone as PostgreSQL sends them: the ids as one bytes string (16 bytes
    each; decoding thousands of UUIDs per booking cost more than the rest of it), parallel arrays
    of the map positions. Labels are read back for the chosen seats only (``_hold``)."""

    ids: bytes
    xs: list[int]
    ys: list[int]

    def seat_id(self, i: int) -> bytes:
        return self.ids[16 * i : 16 * i + 16]


def _zones_stmt(window: tuple[int, int], bounded: bool) -> Any:
    stmt = _zone_stmts.get((window, bounded))
    if stmt is None:
        # the aggregates of one group see its rows in one order, so the arrays line up; the arrays
        # come back as asyncpg builds them (no per-item result processing)
        stmt = _zone_stmts[window, bounded] = (
            select(
                Seat.floor_id,
                Seat.zone,
                func.string_agg(func.uuid_send(Seat.id), literal(b"")),
                *(type_coerce(func.array_agg(c), NullType()) for c in (Seat.x, Seat.y)),
            )
            # 'active' as a literal: the partial index ix_seats_site_id_map serves any plan
            .where(
                Seat.site_id == _SITE,
                Seat.status == literal_column("'active'"),
                ~_conflicting_rows(_SITE, window, _START, _END if bounded else None),
            )
            .group_by(Seat.floor_id, Seat.zone)
        )
    return stmt


async def free_zones(
    session: AsyncSession, site_id: uuid.UUID, window: tuple[int, int], start: date, end: date | None
) -> dict[ZoneKey, ZoneSeats]:
    """The free seats of the site, one row per (floor, zone) with arrays: far cheaper to move and
    decode than a row per seat. The allocator chooses floors and zones from the counts and turns
    the arrays of only the zones it looks at into ``FreeSeat``s."""
    conn = await session.connection()
    rows = (await conn.execute(_zones_stmt(window, end is not None), {"site": site_id, "start": start, "end": end})).all()
    return {(f, z): ZoneSeats(ids, xs, ys) for f, z, ids, xs, ys in rows}


class FreeSeatRow(NamedTuple):
    id: uuid.UUID
    label: str
    floor_id: uuid.UUID
    zone: str


def free_seats_page_stmt(
    site_id: Any, window: tuple[int, int], start: Any, end: Any | None, limit: Any
) -> Select[uuid.UUID, str, uuid.UUID, str, int]:
    """The first ``limit`` free seats in map order, each row with the number of all free seats.

    Only the columns an availability answer shows, and 'active' as a literal, so that the seats
    come from the partial covering index ix_seats_site_id_map without visiting the table."""
    return (
        select(Seat.id, Seat.label, Seat.floor_id, Seat.zone, func.count().over().label("free_count"))
        .where(
            Seat.site_id == site_id, Seat.status == literal_column("'active'"), ~_conflicting_rows(site_id, window, start, end)
        )
        .order_by(*_MAP_ORDER)
        .limit(limit)
    )


async def search_free_seats(
    session: AsyncSession, site_id: uuid.UUID, window: tuple[int, int], start: date, end: date | None, *, limit: int
) -> tuple[int, list[FreeSeatRow]]:
    """Availability in one query: (how many seats are free, the first ``limit`` of them)."""
    rows = (await session.execute(free_seats_page_stmt(site_id, window, start, end, limit))).all()
    return (int(rows[0][4]) if rows else 0), [FreeSeatRow(*r[:4]) for r in rows]


@dataclass
class LeaseRequest:
    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: str
    start_date: date
    end_date: date | None
    seat_count: int | None
    seat_ids: list[uuid.UUID] | None
    add_ons: list[dict[str, Any]]
    # None: not given. Only staff may give one (PRODUCT.md rule 7); the lease's discount is then 0.
    discount_pct: Decimal | None


# Advisory-lock class of seat bookings. Two transactions that insert conflicting rows at the same
# moment would each wait for the other inside the exclusion constraint's check (a deadlock that
# PostgreSQL breaks only after deadlock_timeout); taking a per-seat lock first, always in one
# order, makes them queue instead. The exclusion constraint still decides what is free.
SEAT_LOCK_CLASS = 23975


def _seat_lock_key(seat_id: uuid.UUID) -> int:
    return int.from_bytes(seat_id.bytes[:4], "big", signed=True)


async def lock_seats(session: AsyncSession, seat_ids: Sequence[uuid.UUID], *, wait: bool = True) -> set[uuid.UUID]:
    """Take the booking locks of these seats (held to the end of the transaction), in one global order.

    With ``wait=False`` nothing blocks: the seats another booking is holding right now are returned."""
    keys = sorted({_seat_lock_key(s) for s in seat_ids})
    if not keys:
        return set()
    if wait:
        await session.execute(
            text("SELECT count(pg_advisory_xact_lock(:cls, k)) FROM unnest(CAST(:keys AS int[])) AS k"),
            {"cls": SEAT_LOCK_CLASS, "keys": keys},
        )
        return set()
    busy = set(
        (
            await session.execute(
                text("SELECT k FROM unnest(CAST(:keys AS int[])) AS k WHERE NOT pg_try_advisory_xact_lock(:cls, k)"),
                {"cls": SEAT_LOCK_CLASS, "keys": keys},
            )
        )
        .scalars()
        .all()
    )
    return {s for s in seat_ids if _seat_lock_key(s) in busy}


@dataclass(frozen=True)
class HeldSeat:
    """A seat a lease now holds, with what its view shows."""

    seat_id: uuid.UUID
    label: str
    floor_id: uuid.UUID
    zone: str


async def _hold(
    session: AsyncSession,
    lease: Lease,
    seat_ids: Sequence[uuid.UUID],
    window: tuple[int, int],
    start: date,
    end: date | None,
) -> dict[uuid.UUID, str] | None:
    """Insert the rows (one statement) in a savepoint and return the seats' labels; None when the
    exclusion constraint refuses them."""
    values = [
        {
            "id": uuid.uuid4(),
            "lease_id": lease.id,
            "seat_id": sid,
            "start_date": start,
            "end_date": end,
            "window_start_min": window[0],
            "window_end_min": window[1],
            "voided": False,
        }
        for sid in sorted(seat_ids)
    ]
    table = cast(Table, LeaseSeat.__table__)
    # (SQLAlchemy does not correlate a subquery in RETURNING: written out)
    label = literal_column("(SELECT seats.label FROM seats WHERE seats.id = lease_seats.seat_id)", String())
    try:
        async with session.begin_nested():
            conn = await session.connection()
            held = (await conn.execute(insert(table).values(values).returning(table.c.seat_id, label))).all()
    except IntegrityError as exc:
        if sqlstate(exc) != "23P01":
            raise
        return None
    except DBAPIError as exc:
        # a deadlock with a writer that does not take the seat locks: treat it as a lost race
        if sqlstate(exc) != "40P01":
            raise
        return None
    return {seat_id: lbl for seat_id, lbl in held}


class _FreeSeatReader:
    """Allocation against the database: the free seats per zone are read once per attempt (and
    kept for a re-pick around busy seats); the plan chooses from the counts and looks at the
    seats of only the zones it must score. Seat ids stay 16-byte strings until chosen."""

    def __init__(self, session: AsyncSession, site_id: uuid.UUID, window: tuple[int, int], start: date, end: date | None) -> None:
        self.session, self.site_id, self.window, self.start, self.end = session, site_id, window, start, end
        self.zones: dict[ZoneKey, ZoneSeats] = {}
        self._spots: dict[ZoneKey, list[FreeSeat]] = {}

    async def refresh(self) -> None:
        self.zones = await free_zones(self.session, self.site_id, self.window, self.start, self.end)
        self._spots = {}

    @property
    def free_count(self) -> int:
        return sum(len(z.xs) for z in self.zones.values())

    def _seats(self, key: ZoneKey) -> list[FreeSeat]:
        spots = self._spots.get(key)
        if spots is None:
            zone = self.zones[key]
            floor, name = key
            spots = self._spots[key] = [
                FreeSeat(zone.seat_id(i), floor, name, x, y) for i, (x, y) in enumerate(zip(zone.xs, zone.ys, strict=True))
            ]
        return spots

    def allocate(self, n: int, zones: set[ZoneKey] | None, exclude: set[bytes]) -> list[FreeSeat] | None:
        def usable(key: ZoneKey) -> list[FreeSeat]:
            seats = self._seats(key)
            return [fs for fs in seats if fs.id not in exclude] if exclude else seats

        in_scope = [z for z in self.zones if zones is None or z in zones]
        # zones looked at already, less the busy seats, count by what is left of them
        known = {z: usable(z) for z in in_scope if z in self._spots}
        plan = ZonePlan({z: len(self.zones[z].xs) for z in in_scope}, n, known=known)
        while wanted := plan.wanted():
            plan.add({z: usable(z) for z in wanted})
        return plan.result()

    def allocate_near(self, n: int, near: set[tuple[uuid.UUID, str]] | None, busy: set[uuid.UUID]) -> list[FreeSeat] | None:
        """Allocate in the lease's own zones if they can hold n, else on its floors, else anywhere."""
        exclude = {b.bytes for b in busy}
        if near:
            near_floors = {f for f, _ in near}
            scopes: list[set[ZoneKey]] = [set(near), {z for z in self.zones if z[0] in near_floors}]
            for scope in scopes:
                chosen = self.allocate(n, scope, exclude)
                if chosen is not None:
                    return chosen
        return self.allocate(n, None, exclude)


async def _insert_seats(
    session: AsyncSession,
    lease: Lease,
    window: tuple[int, int],
    start: date,
    end: date | None,
    *,
    seat_count: int | None,
    seat_ids: Sequence[uuid.UUID] | None,
    near: set[tuple[uuid.UUID, str]] | None = None,
) -> list[HeldSeat]:
    """Hold seats for the lease; PostgreSQL refuses a double booking, and for a seat count
    we pick again from what is still free (another booking may have won the race).

    ``near`` are the (floor, zone) pairs the lease already sits in: added seats go there first."""
    if seat_ids is not None:
        seats = (await session.scalars(select(Seat).where(Seat.id.in_(seat_ids)))).all()
        found = {s.id: s for s in seats if s.site_id == lease.site_id}
        missing = [str(i) for i in seat_ids if i not in found]
        if missing:
            raise ValidationFailed(f"no such seat on this site: {missing[0]}", field="seat_ids")
        blocked = [s.label for s in found.values() if s.status != "active"]
        if blocked:
            raise SeatsUnavailable(f"seats not bookable (maintenance or retired): {', '.join(blocked)}", field="seat_ids")
        await lock_seats(session, seat_ids)
        if await _hold(session, lease, seat_ids, window, start, end) is None:
            raise SeatsUnavailable("one or more of the seats are not free for that window", field="seat_ids")
        return [HeldSeat(sid, found[sid].label, found[sid].floor_id, found[sid].zone) for sid in seat_ids]

    assert seat_count is not None
    busy: set[uuid.UUID] = set()
    reader = _FreeSeatReader(session, lease.site_id, window, start, end)
    fresh = False
    for _attempt in range(ALLOCATION_ATTEMPTS):
        if not fresh:  # read again only after the database refused a pick
            await reader.refresh()
            fresh = True
        # first steer around seats that concurrent bookings are holding right now
        chosen = reader.allocate_near(seat_count, near, busy)
        wait = False
        if chosen is None and busy:  # only busy seats fit: queue behind their bookings
            chosen = reader.allocate_near(seat_count, near, set())
            wait = True
        if chosen is None:
            free_count = reader.free_count
            raise SeatsUnavailable(
                f"only {free_count} seats are free for that window; {seat_count} requested",
                field="seat_count",
                free_count=free_count,
            )
        ids = [uuid.UUID(bytes=fs.id) for fs in chosen]  # type: ignore[arg-type]
        taken = await lock_seats(session, ids, wait=wait)
        if taken:
            busy |= taken
            continue
        labels = await _hold(session, lease, ids, window, start, end)
        if labels is not None:
            return [
                HeldSeat(sid, labels[sid], fs.floor, fs.zone)  # type: ignore[arg-type]
                for sid, fs in zip(ids, chosen, strict=True)
            ]
        # the savepoint rolled back these rows; read what is free and allocate again
        fresh = False
    raise SeatsUnavailable("the seats were taken by concurrent bookings; try again", field="seat_count")


class SeatCapExceeded(Conflict):
    title = "Seat cap exceeded"
    type_suffix = "seat-cap-exceeded"


async def enforce_seat_cap(
    session: AsyncSession, client_id: uuid.UUID, wanted: int, default_cap: int, today: date, field: str
) -> None:
    """A client's own bookings may hold at most its seat cap (clients.seat_cap, else the default).

    Seats held: the lease_seats rows of the client's pending_approval/confirmed/active leases that
    are not voided and not over (end date today or later, or none) -- a seat held by two of its
    leases (a DAY and a NIGHT lease of one seat) counts twice, once per lease seat. The client row
    is locked (FOR NO KEY UPDATE: other writers' foreign-key checks on it do not wait) before the
    count, so concurrent bookings of one client queue here and each counts what the others
    committed: the total never passes the cap."""
    cap = (
        await session.execute(
            select(Client.seat_cap).where(Client.id == client_id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
        )
    ).scalar_one()
    cap = default_cap if cap is None else cap
    held = int(
        await session.scalar(
            select(func.count())
            .select_from(LeaseSeat)
            .join(Lease, Lease.id == LeaseSeat.lease_id)
            .where(
                Lease.client_id == client_id,
                Lease.status.in_(LIVE_STATUSES),
                LeaseSeat.voided.is_(False),
                or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= today),
            )
        )
        or 0
    )
    if held + wanted > cap:
        raise SeatCapExceeded(
            f"the client may hold at most {cap} seats: it holds {held} and asks for {wanted} more",
            field=field,
            seat_cap=cap,
            seats_held=held,
            seats_requested=wanted,
        )


def _wanted(seat_count: int | None, seat_ids: Sequence[uuid.UUID] | None) -> tuple[int, str]:
    return (len(seat_ids), "seat_ids") if seat_ids is not None else (int(seat_count or 0), "seat_count")


async def _load_booking(
    session: AsyncSession, req: LeaseRequest
) -> tuple[Site | None, Client | None, Team | None, Plan | None, Shift | None]:
    """The site, client, team, plan and shift of a booking in one query (each None when missing).

    The same query queues the wake-up of the provisioning reconciler (``notify_leases_changed``):
    PostgreSQL delivers it only if the booking commits."""
    one = select(literal(1).label("one")).subquery()
    stmt = (
        select(Site, Client, Team, Plan, Shift, events.leases_changed_expr())
        .select_from(one)
        .outerjoin(Site, Site.id == req.site_id)
        .outerjoin(Client, Client.id == req.client_id)
        .outerjoin(Team, Team.id == req.team_id)
        .outerjoin(Plan, Plan.id == req.plan_id)
        .outerjoin(Shift, and_(Shift.site_id == req.site_id, Shift.code == req.shift))
    )
    row = (await session.execute(stmt)).one()
    return row[0], row[1], row[2], row[3], row[4]


async def create_lease(
    session: AsyncSession,
    actor: Actor,
    req: LeaseRequest,
    *,
    is_staff: bool,
    discount_threshold_pct: Decimal,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> Lease:
    lease, _view = await book_lease(
        session, actor, req, is_staff=is_staff, discount_threshold_pct=discount_threshold_pct, limits=limits, now=now
    )
    return lease


async def book_lease(
    session: AsyncSession,
    actor: Actor,
    req: LeaseRequest,
    *,
    is_staff: bool,
    discount_threshold_pct: Decimal,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> tuple[Lease, dict[str, Any]]:
    """Create a lease and hold its seats; returns the lease and its API view (built from what
    the booking already has in hand, the same shape as ``lease_views``). Wakes the provisioning
    reconciler on commit (no need to call ``notify_leases_changed``).

    A client's own booking (not staff) may not carry a discount at all (403 naming
    ``discount_pct``) and may not take the client past its seat cap (``enforce_seat_cap``)."""
    if not is_staff and req.discount_pct is not None:
        raise Forbidden("a discount is a commercial term that only staff set; leave discount_pct out", field="discount_pct")
    discount = req.discount_pct if req.discount_pct is not None else Decimal(0)
    site, client, team, plan, shift = await _load_booking(session, req)
    if site is None:
        raise ValidationFailed("no such site", field="site_id")
    if client is None:
        raise NotFound("client not found")
    if team is None or team.client_id != client.id:
        raise ValidationFailed("no such team for this client", field="team_id")
    if plan is None or plan.site_id != site.id:
        raise ValidationFailed("no such plan on this site", field="plan_id")
    if shift is None:
        raise ValidationFailed(f"no shift {req.shift} on this site", field="shift")
    today = site_today(site, now)
    if not is_staff and req.start_date < today:
        raise ValidationFailed("a lease cannot start in the past", field="start_date")
    add_ons = await _resolve_add_ons(session, plan, req.add_ons)
    if not is_staff:
        wanted, field = _wanted(req.seat_count, req.seat_ids)
        await enforce_seat_cap(session, client.id, wanted, (limits or ClientLimits()).seat_cap_default, today, field)

    status = "pending_approval" if discount > discount_threshold_pct else "confirmed"
    lease = Lease(
        id=uuid.uuid4(),
        client_id=client.id,
        team_id=team.id,
        site_id=site.id,
        plan_id=plan.id,
        shift_id=shift.id,
        shift_code=shift.code,
        start_date=req.start_date,
        end_date=req.end_date,
        status=status,
        discount_pct=discount,
        created_by=actor.subject,
    )
    session.add(lease)
    await session.flush()
    window = shift_window(shift)
    held = await _insert_seats(
        session, lease, window, req.start_date, req.end_date, seat_count=req.seat_count, seat_ids=req.seat_ids
    )
    for inc, qty in add_ons:
        session.add(LeaseAddOn(lease_id=lease.id, inclusion_id=inc.id, quantity=qty))
    if status == "confirmed":
        _advance(lease, today)
    if add_ons or lease.status != status:
        await session.flush()
    await record(session, actor, "lease.create", "lease", lease.id, after=snapshot(lease), client_id=client.id)
    periods = sorted(
        (_Period(h.seat_id, h.label, h.floor_id, h.zone, req.start_date, req.end_date) for h in held),
        key=lambda p: p.label,
    )
    return lease, _lease_view(lease, site, periods, [(inc, qty) for inc, qty in add_ons])


async def _resolve_add_ons(session: AsyncSession, plan: Plan, wanted: list[dict[str, Any]]) -> list[tuple[Inclusion, int]]:
    if not wanted:
        return []
    codes = [w["code"] for w in wanted]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("each add-on once", field="add_ons")
    incs = {i.code: i for i in (await session.scalars(select(Inclusion).where(Inclusion.plan_id == plan.id))).all()}
    out = []
    for w in wanted:
        inc = incs.get(w["code"])
        if inc is None or inc.billing == "included":
            raise ValidationFailed(f"{w['code']} is not an add-on of this plan", field="add_ons")
        out.append((inc, int(w["quantity"])))
    return out


def _advance(lease: Lease, today: date) -> None:
    """confirmed → active on the start date; active → ended after the end date."""
    if lease.status == "confirmed" and lease.start_date <= today:
        lease.status = "active"
        lease.activated_at = datetime.now(UTC)
    if lease.status == "active" and lease.end_date is not None and lease.end_date < today:
        lease.status = "ended"
        lease.ended_at = datetime.now(UTC)


async def get_lease(session: AsyncSession, lease_id: uuid.UUID, *, for_update: bool = False) -> Lease:
    return await get_or_404(session, Lease, lease_id, "lease", for_update=for_update)


async def _site(session: AsyncSession, lease: Lease) -> Site:
    site = await session.get(Site, lease.site_id)
    assert site is not None
    return site


def _require_live(lease: Lease) -> None:
    if lease.status not in LIVE_STATUSES:
        raise InvalidState(f"the lease is {lease.status}")


async def add_seats(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    seat_count: int | None,
    seat_ids: list[uuid.UUID] | None,
    effective: date,
    is_staff: bool,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> list[HeldSeat]:
    _require_live(lease)
    site = await _site(session, lease)
    if not is_staff and effective < site_today(site, now):
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    if effective < lease.start_date or (lease.end_date is not None and effective > lease.end_date):
        raise ValidationFailed("effective date is outside the lease term", field="effective")
    if not is_staff:
        wanted, field = _wanted(seat_count, seat_ids)
        await enforce_seat_cap(
            session, lease.client_id, wanted, (limits or ClientLimits()).seat_cap_default, site_today(site, now), field
        )
    shift = await session.get(Shift, lease.shift_id)
    assert shift is not None
    near = {
        (f, z)
        for f, z in (
            await session.execute(
                select(Seat.floor_id, Seat.zone)
                .join(LeaseSeat, LeaseSeat.seat_id == Seat.id)
                .where(LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False))
                .distinct()
            )
        ).all()
    }
    rows = await _insert_seats(
        session, lease, shift_window(shift), effective, lease.end_date, seat_count=seat_count, seat_ids=seat_ids, near=near
    )
    details = {"seat_ids": [str(r.seat_id) for r in rows]}
    session.add(
        LeaseAmendment(lease_id=lease.id, kind="seats_added", effective_date=effective, details=details, actor_id=actor.subject)
    )
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "lease.seats_added",
        "lease",
        lease.id,
        after={"effective": effective, **details},
        client_id=lease.client_id,
    )
    return rows


async def release_seat(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    seat_id: uuid.UUID,
    *,
    effective: date,
    is_staff: bool,
    now: datetime | None = None,
) -> None:
    """Release a seat from `effective` on (its last day is the day before)."""
    _require_live(lease)
    site = await _site(session, lease)
    if not is_staff and effective < site_today(site, now):
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    rows = (
        await session.scalars(
            select(LeaseSeat).where(LeaseSeat.lease_id == lease.id, LeaseSeat.seat_id == seat_id, LeaseSeat.voided.is_(False))
        )
    ).all()
    live = [r for r in rows if r.end_date is None or r.end_date >= effective]
    if not live:
        raise NotFound("seat not held by this lease on that date")
    for r in live:
        if r.start_date >= effective:
            r.voided = True
        else:
            r.end_date = effective - timedelta(days=1)
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id, SeatAssignment.seat_id == seat_id))
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="seat_released",
            effective_date=effective,
            details={"seat_id": str(seat_id)},
            actor_id=actor.subject,
        )
    )
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "lease.seat_released",
        "lease",
        lease.id,
        after={"effective": effective, "seat_id": seat_id},
        client_id=lease.client_id,
    )


async def end_lease(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    end_date: date,
    *,
    is_staff: bool,
    now: datetime | None = None,
) -> Lease:
    if lease.status not in ("confirmed", "active"):
        raise InvalidState(f"a lease that is {lease.status} cannot be ended")
    site = await _site(session, lease)
    today = site_today(site, now)
    if not is_staff and end_date < today:
        raise ValidationFailed("a lease cannot be ended as of a past date", field="end_date")
    if end_date < lease.start_date:
        raise ValidationFailed("end_date is before the lease start", field="end_date")
    before = snapshot(lease)
    old_end = lease.end_date
    rows = (await session.scalars(select(LeaseSeat).where(LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False)))).all()
    # a longer term is a new claim on the seats: queue behind bookings of them like a booking does
    await lock_seats(session, sorted({r.seat_id for r in rows}))
    try:
        async with session.begin_nested():
            for r in rows:
                if r.start_date > end_date:
                    r.voided = True
                elif r.end_date is None or r.end_date > end_date or r.end_date == old_end:
                    r.end_date = end_date
            lease.end_date = end_date
            await session.flush()
    except IntegrityError as exc:
        if sqlstate(exc) == "23P01":
            raise SeatsUnavailable("the seats are taken after the current end date", field="end_date") from exc
        raise
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="end_date_set",
            effective_date=end_date,
            details={"previous_end_date": old_end.isoformat() if old_end else None},
            actor_id=actor.subject,
        )
    )
    _advance(lease, today)
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(session, actor, "lease.end", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id)
    return lease


async def cancel_lease(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    is_staff: bool = True,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> Lease:
    """Cancel a lease before its start. A client cancelling inside the fee window owes a
    cancellation fee (domain/services/charges.py), billed on its next invoice; staff do not
    charge one."""
    site = await _site(session, lease)
    today = site_today(site, now)
    if lease.status not in ("pending_approval", "confirmed") or lease.start_date <= today:
        raise InvalidState("only a lease that has not started can be cancelled; end it instead")
    if not is_staff:
        await charge_cancellation_fee(session, actor, lease, site, today, limits or ClientLimits())
    before = snapshot(lease)
    await session.execute(update(LeaseSeat).where(LeaseSeat.lease_id == lease.id).values(voided=True))
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    lease.status = "cancelled"
    lease.cancelled_at = datetime.now(UTC)
    session.add(
        LeaseAmendment(lease_id=lease.id, kind="cancelled", effective_date=lease.start_date, details={}, actor_id=actor.subject)
    )
    await session.flush()
    await record(
        session, actor, "lease.cancel", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id
    )
    return lease


async def approve_lease(session: AsyncSession, actor: Actor, lease: Lease, *, now: datetime | None = None) -> Lease:
    if lease.status != "pending_approval":
        raise InvalidState(f"the lease is {lease.status}, not pending approval")
    before = snapshot(lease)
    lease.status = "confirmed"
    lease.approved_by = actor.subject
    _advance(lease, site_today(await _site(session, lease), now))
    await session.flush()
    await record(
        session, actor, "lease.approve", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id
    )
    return lease


async def set_assignments(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    *,
    now: datetime | None = None,
) -> list[SeatAssignment]:
    _require_live(lease)
    seats_ = [s for s, _ in pairs]
    members_ = [m for _, m in pairs]
    if len(set(seats_)) != len(seats_):
        raise ValidationFailed("a seat appears twice", field="seat_id")
    if len(set(members_)) != len(members_):
        raise ValidationFailed("a member appears twice", field="member_id")
    site = await _site(session, lease)
    today = max(site_today(site, now), lease.start_date)
    held = set(
        (
            await session.scalars(
                select(LeaseSeat.seat_id).where(
                    LeaseSeat.lease_id == lease.id,
                    LeaseSeat.voided.is_(False),
                    or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= today),
                )
            )
        ).all()
    )
    bad_seat = [s for s in seats_ if s not in held]
    if bad_seat:
        raise ValidationFailed(f"seat {bad_seat[0]} is not held by this lease", field="seat_id")
    members = {m.id: m for m in (await session.scalars(select(Member).where(Member.id.in_(members_)))).all()}
    bad_member = [m for m in members_ if m not in members or members[m].client_id != lease.client_id or not members[m].active]
    if bad_member:
        raise ValidationFailed(f"member {bad_member[0]} is not an active member of this client", field="member_id")
    before = [
        {"seat_id": str(a.seat_id), "member_id": str(a.member_id)}
        for a in (await session.scalars(select(SeatAssignment).where(SeatAssignment.lease_id == lease.id))).all()
    ]
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    rows = [SeatAssignment(lease_id=lease.id, seat_id=s, member_id=m) for s, m in pairs]
    session.add_all(rows)
    await session.flush()
    await record(
        session,
        actor,
        "lease.assignments",
        "lease",
        lease.id,
        before={"assignments": before},
        after={"assignments": [{"seat_id": str(s), "member_id": str(m)} for s, m in pairs]},
        client_id=lease.client_id,
    )
    await notify_leases_changed(session)
    return rows


async def notify_leases_changed(session: AsyncSession) -> None:
    """Wake the provisioning reconciler (it also sweeps on its own)."""
    await events.leases_changed(session)


async def advance_lease_states(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The worker's pass: confirmed → active on the start date, → ended after the end date,
    each on the site's own calendar. Idempotent.

    Site by site, each in a savepoint: a site whose records make the pass fail (e.g. a time zone
    stored before time zones were validated) is rolled back, logged and reported in
    `sites_failed`; the other sites' leases move on. A failure of the database itself fails the pass.
    """
    import logging  # local, like the import below: this function alone uses them

    from domain.services.isolation import failure, site_local

    logger = logging.getLogger("seatlease.worker")
    activated: list[Any] = []
    ended: list[Any] = []
    failed: list[dict[str, Any]] = []
    sites = (await session.execute(select(Site.id, Site.code, Site.timezone).order_by(Site.code))).all()
    for site_id, code, tz in sites:
        try:
            async with session.begin_nested():
                local_today = func.timezone(tz, func.now()).cast(Lease.start_date.type)
                site_activated = (
                    await session.execute(
                        update(Lease)
                        .where(Lease.site_id == site_id, Lease.status == "confirmed", Lease.start_date <= local_today)
                        .values(status="active", activated_at=func.now())
                        .returning(Lease.id, Lease.client_id)
                    )
                ).all()
                site_ended = (
                    await session.execute(
                        update(Lease)
                        .where(
                            Lease.site_id == site_id,
                            Lease.status == "active",
                            Lease.end_date.is_not(None),
                            Lease.end_date < local_today,
                        )
                        .values(status="ended", ended_at=func.now())
                        .returning(Lease.id, Lease.client_id)
                    )
                ).all()
        except Exception as exc:
            if not site_local(exc):
                raise
            failed.append(failure(site_id, code, "lease_states", exc))
            logger.error("lease-state pass: site %s (%s) skipped: %s", code, site_id, failed[-1]["error"])
            continue
        activated.extend(site_activated)
        ended.extend(site_ended)
    for lease_id, client_id in activated:
        await record(session, actor, "lease.activate", "lease", lease_id, after={"status": "active"}, client_id=client_id)
    for lease_id, client_id in ended:
        await record(session, actor, "lease.ended", "lease", lease_id, after={"status": "ended"}, client_id=client_id)
    if activated or ended:
        await notify_leases_changed(session)
    return {"activated": len(activated), "ended": len(ended), "sites_failed": failed}


_PCT = Decimal("0.01")


class _Period(NamedTuple):
    id: uuid.UUID  # the seat
    label: str
    floor_id: uuid.UUID
    zone: str
    start_date: date
    end_date: date | None


def _lease_view(
    lease: Lease,
    site: Site,
    periods: Sequence[_Period],
    add_ons: Sequence[tuple[Inclusion, int]],
    today: date | None = None,
) -> dict[str, Any]:
    """The API shape of one lease from its seat periods (in label order) and add-ons."""
    ref = today or max(site_today(site), lease.start_date)
    current: dict[uuid.UUID, dict[str, Any]] = {}
    for r in periods:
        if r.end_date is None or r.end_date >= ref or lease.status == "ended":
            current[r.id] = {"id": r.id, "label": r.label, "floor_id": r.floor_id, "zone": r.zone}
    return {
        "id": lease.id,
        "client_id": lease.client_id,
        "team_id": lease.team_id,
        "site_id": lease.site_id,
        "plan_id": lease.plan_id,
        "shift": lease.shift_code,
        "start_date": lease.start_date,
        "end_date": lease.end_date,
        "status": lease.status,
        "seats": list(current.values()),
        "seat_periods": [
            {"seat_id": r.id, "label": r.label, "start_date": r.start_date, "end_date": r.end_date} for r in periods
        ],
        "add_ons": [
            {
                "code": inc.code,
                "name": inc.name,
                "billing": inc.billing,
                "unit_price_minor": inc.unit_price_minor,
                "quantity": qty,
            }
            for inc, qty in add_ons
        ],
        # as stored (numeric(5,2)): the same text before and after a round trip through the table
        "discount_pct": str(Decimal(lease.discount_pct).quantize(_PCT)),
        "currency": site.currency,
    }


async def lease_views(session: AsyncSession, leases: Sequence[Lease], *, today: date | None = None) -> list[dict[str, Any]]:
    """The API shape of leases, loaded in a fixed number of queries."""
    if not leases:
        return []
    ids = [lease.id for lease in leases]
    seat_rows = (
        await session.execute(
            select(LeaseSeat.lease_id, Seat.id, Seat.label, Seat.floor_id, Seat.zone, LeaseSeat.start_date, LeaseSeat.end_date)
            .join(Seat, Seat.id == LeaseSeat.seat_id)
            .where(LeaseSeat.lease_id.in_(ids), LeaseSeat.voided.is_(False))
            .order_by(Seat.label, LeaseSeat.start_date)
        )
    ).all()
    addon_rows = (
        await session.execute(
            select(LeaseAddOn.lease_id, LeaseAddOn.quantity, Inclusion)
            .join(Inclusion, Inclusion.id == LeaseAddOn.inclusion_id)
            .where(LeaseAddOn.lease_id.in_(ids))
        )
    ).all()
    sites = {s.id: s for s in (await session.scalars(select(Site).where(Site.id.in_({lease.site_id for lease in leases})))).all()}
    periods: dict[uuid.UUID, list[_Period]] = {}
    for r in seat_rows:
        periods.setdefault(r[0], []).append(_Period(*r[1:]))
    add_ons: dict[uuid.UUID, list[tuple[Inclusion, int]]] = {}
    for lid, qty, inc in addon_rows:
        add_ons.setdefault(lid, []).append((inc, qty))
    return [
        _lease_view(lease, sites[lease.site_id], periods.get(lease.id, []), add_ons.get(lease.id, []), today) for lease in leases
    ]


def lease_filter(client_id: uuid.UUID | None, status: str | None, site_id: uuid.UUID | None) -> list[Any]:
    conds: list[Any] = []
    if client_id is not None:
        conds.append(Lease.client_id == client_id)
    if status is not None:
        conds.append(Lease.status == status)
    if site_id is not None:
        conds.append(Lease.site_id == site_id)
    return [and_(*conds)] if conds else []
