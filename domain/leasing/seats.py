"""Seat locks and inserts: how a lease takes its seats.

No double booking is enforced by PostgreSQL (the exclusion constraint on lease_seats); this module
never checks-then-inserts to decide whether a seat is free: it inserts, and a refusal is a lost race.

No false refusal under contention (issue 10): a seat-count booking reads the free seats, picks,
and takes the pick's seat locks and rows in one statement that never waits; seats that concurrent
bookings hold right now are steered around (the next best pick), and only when nothing else fits
does it queue behind them, holding no seat lock of its own while it waits (a failed pick is rolled
back to a savepoint, its locks with it). So it never deadlocks, and it answers "not free" only
when the committed rows leave fewer free seats than it asks for."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import SeatsUnavailable, ValidationFailed
from domain.leasing.availability import ZoneSeats, free_zones, taken_labels
from domain.models import (
    Lease,
    Seat,
)
from domain.rules.allocation import FreeSeat, ZoneKey, ZonePlan

# Times the database may refuse a pick (each refusal is another booking committing some of the
# seats since they were read: progress) before a booking gives up; steering around busy seats
# does not count (it is bounded by the seats there are).
ALLOCATION_REFUSALS = 100


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


# Advisory-lock class of seat bookings. Two transactions that insert conflicting rows at the same
# moment would each wait for the other inside the exclusion constraint's check (a deadlock that
# PostgreSQL breaks only after deadlock_timeout); taking a per-seat lock first, always in one
# order, makes them queue instead. The exclusion constraint still decides what is free.
SEAT_LOCK_CLASS = 23975


def _seat_lock_key(seat_id: uuid.UUID) -> int:
    return int.from_bytes(seat_id.bytes[:4], "big", signed=True)


async def lock_seats(session: AsyncSession, seat_ids: Sequence[uuid.UUID]) -> None:
    """Wait for and take the booking locks of these seats (held to the end of the transaction), in
    one statement, in one global order (the lock key's). A caller holds no other seat lock when it
    calls this, so no two transactions ever wait for each other's seat locks."""
    keys = sorted({_seat_lock_key(s) for s in seat_ids})
    if keys:
        await session.execute(
            text("SELECT count(pg_advisory_xact_lock(:cls, k)) FROM unnest(CAST(:keys AS int[])) AS k"),
            {"cls": SEAT_LOCK_CLASS, "keys": keys},
        )


@dataclass(frozen=True)
class HeldSeat:
    """A seat a lease now holds, with what its view shows."""

    seat_id: uuid.UUID
    label: str
    floor_id: uuid.UUID
    zone: str


# One attempt at a set of seats: try their locks and, only when every one was free, insert the
# rows (the CTE's locks are all tried before the insert decides); answers the busy lock keys, or
# the inserted seats with their labels. The triggers on lease_seats fill in site_id and write the
# occupancy segments that the exclusion constraint guards.
_TAKE = text(
    """WITH lk AS MATERIALIZED (
         SELECT k, pg_try_advisory_xact_lock(:cls, k) AS ok FROM unnest(CAST(:keys AS int[])) AS k
       ), ins AS (
         INSERT INTO lease_seats (lease_id, seat_id, start_date, end_date, window_start_min, window_end_min, voided)
         SELECT CAST(:lease AS uuid), s, CAST(:start AS date), CAST(:end AS date), CAST(:ws AS int), CAST(:we AS int), false
         FROM unnest(CAST(:seats AS uuid[])) AS s
         WHERE NOT EXISTS (SELECT FROM lk WHERE NOT lk.ok)
         RETURNING seat_id, (SELECT seats.label FROM seats WHERE seats.id = lease_seats.seat_id) AS label
       )
       SELECT NULL::uuid AS seat_id, NULL::text AS label, k AS busy FROM lk WHERE NOT lk.ok
       UNION ALL
       SELECT seat_id, label, NULL FROM ins"""
)


class _Attempts:
    """The savepoint that a booking's failed attempts roll back to, and with it the locks they took
    (PostgreSQL releases the advisory locks taken in a savepoint that rolls back) and their rows.
    Set once: a rolled-back-to savepoint stays, and a successful attempt leaves it to the commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.open = False

    async def take(
        self,
        lease: Lease,
        seat_ids: Sequence[uuid.UUID],
        window: tuple[int, int],
        start: date,
        end: date | None,
        *,
        wait: bool,
    ) -> dict[uuid.UUID, str] | set[uuid.UUID] | None:
        """One attempt at these seats: their booking locks, then their rows, in one statement, and
        the seats' labels. Nothing of a failed attempt is kept: the seats another booking is
        holding right now are returned as a set (only without ``wait``), and None means the
        exclusion constraint refused the rows (a booking that committed since the free seats were
        read). A booking never holds a seat lock from an earlier attempt when it waits for one, and
        waits only in one statement in key order, so two bookings can never wait for each other (no
        deadlock); it inserts only rows of seats it has locked (no wait inside the constraint's check)."""
        conn = await self.session.connection()
        if not self.open:
            await conn.exec_driver_sql("SAVEPOINT seat_pick")
            self.open = True
        try:
            if wait:  # queue behind the bookings holding them: their rows are visible after
                await lock_seats(self.session, seat_ids)
            rows = (
                await conn.execute(
                    _TAKE,
                    {
                        "cls": SEAT_LOCK_CLASS,
                        "keys": sorted({_seat_lock_key(s) for s in seat_ids}),
                        "lease": lease.id,
                        "start": start,
                        "end": end,
                        "ws": window[0],
                        "we": window[1],
                        "seats": sorted(seat_ids),
                    },
                )
            ).all()
        except IntegrityError as exc:
            await conn.exec_driver_sql("ROLLBACK TO SAVEPOINT seat_pick")
            if sqlstate(exc) != "23P01":
                raise
            return None
        busy = {r.busy for r in rows if r.busy is not None}
        if busy:
            await conn.exec_driver_sql("ROLLBACK TO SAVEPOINT seat_pick")
            return {s for s in seat_ids if _seat_lock_key(s) in busy}
        return {r.seat_id: r.label for r in rows}


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

    def allocate_near(
        self, n: int, near: set[tuple[uuid.UUID, str]] | None, busy: set[uuid.UUID], floor: uuid.UUID | None = None
    ) -> list[FreeSeat] | None:
        """Allocate in the lease's own zones if they can hold n, else on its floors, else anywhere;
        with ``floor``, on that floor only (a lease moving floors, domain/leasing/moves.py)."""
        exclude = {b.bytes for b in busy}
        if floor is not None:
            return self.allocate(n, {z for z in self.zones if z[0] == floor}, exclude)
        if near:
            near_floors = {f for f, _ in near}
            scopes: list[set[ZoneKey]] = [set(near), {z for z in self.zones if z[0] in near_floors}]
            for scope in scopes:
                chosen = self.allocate(n, scope, exclude)
                if chosen is not None:
                    return chosen
        return self.allocate(n, None, exclude)


async def _refuse_retired(session: AsyncSession, seat_ids: Sequence[uuid.UUID], field: str) -> None:
    """Read again under the seats' booking locks: a seat retired (domain/leasing/floor_plan.py retires
    under the same locks) after this booking read it as bookable is refused, never held."""
    retired = (
        await session.scalars(select(Seat.label).where(Seat.id.in_(seat_ids), Seat.status == "retired").order_by(Seat.label))
    ).all()
    if retired:
        raise SeatsUnavailable(f"seats not bookable (retired): {', '.join(retired)}", field=field)


async def insert_seats(
    session: AsyncSession,
    lease: Lease,
    window: tuple[int, int],
    start: date,
    end: date | None,
    *,
    seat_count: int | None,
    seat_ids: Sequence[uuid.UUID] | None,
    near: set[tuple[uuid.UUID, str]] | None = None,
    floor: uuid.UUID | None = None,
) -> list[HeldSeat]:
    """Hold seats for the lease; PostgreSQL refuses a double booking, and for a seat count
    we pick again from what is still free (another booking may have won the race).

    ``near`` are the (floor, zone) pairs the lease already sits in: added seats go there first;
    ``floor`` keeps a seat-count pick on that one floor."""
    if seat_ids is not None:
        seats = (await session.scalars(select(Seat).where(Seat.id.in_(seat_ids)))).all()
        found = {s.id: s for s in seats if s.site_id == lease.site_id}
        missing = [str(i) for i in seat_ids if i not in found]
        if missing:
            raise ValidationFailed(f"no such seat on this site: {missing[0]}", field="seat_ids")
        blocked = [s.label for s in found.values() if s.status != "active"]
        if blocked:
            blocked.sort()
            raise SeatsUnavailable(
                f"seats not bookable (maintenance or retired): {', '.join(blocked)}", field="seat_ids", taken_seats=blocked
            )
        # a booking of named seats waits for their locks (it holds no other seat lock)
        held = await _Attempts(session).take(lease, seat_ids, window, start, end, wait=True)
        if not isinstance(held, dict):
            labels = await taken_labels(session, lease.site_id, seat_ids, window, start, end)
            raise SeatsUnavailable(
                f"not free for that window: {', '.join(labels)}"
                if labels
                else "one or more of the seats are not free for that window",
                field="seat_ids",
                taken_seats=labels,
            )
        await _refuse_retired(session, seat_ids, "seat_ids")
        return [HeldSeat(sid, found[sid].label, found[sid].floor_id, found[sid].zone) for sid in seat_ids]

    assert seat_count is not None
    busy: set[uuid.UUID] = set()
    reader = _FreeSeatReader(session, lease.site_id, window, start, end)
    attempts = _Attempts(session)
    fresh, refusals = False, 0
    while refusals <= ALLOCATION_REFUSALS:
        if not fresh:  # read again only after the database refused a pick
            await reader.refresh()
            busy, fresh = set(), True
        # first steer around seats that concurrent bookings are holding right now (more seats,
        # other seats: the plan takes the next best)
        chosen = reader.allocate_near(seat_count, near, busy, floor)
        wait = False
        if chosen is None and busy:  # only busy seats fit: queue behind their bookings
            chosen = reader.allocate_near(seat_count, near, set(), floor)
            wait = True
        if chosen is None:
            # read from committed rows only, so these seats are really taken: a true refusal
            free_count = reader.free_count if floor is None else sum(len(z.xs) for k, z in reader.zones.items() if k[0] == floor)
            raise SeatsUnavailable(
                f"only {free_count} seats are free for that window; {seat_count} requested",
                field="seat_count",
                free_count=free_count,
            )
        ids = [uuid.UUID(bytes=fs.id) for fs in chosen]  # type: ignore[arg-type]
        taken = await attempts.take(lease, ids, window, start, end, wait=wait)
        if isinstance(taken, dict):
            await _refuse_retired(session, ids, "seat_count")
            return [
                HeldSeat(sid, taken[sid], fs.floor, fs.zone)  # type: ignore[arg-type]
                for sid, fs in zip(ids, chosen, strict=True)
            ]
        if taken is not None:
            busy |= taken
            continue
        # another booking committed some of these seats since they were read: read and pick again
        fresh, refusals = False, refusals + 1
    raise SeatsUnavailable("the seats were taken by concurrent bookings; try again", field="seat_count")
