"""The seat map's read-model: every seat of a floor with its state on a date (and shift) and who
holds it. "Held" is the one rule (``seat_held``, domain/models/held.py): a stored occupancy segment of the seat
overlaps what a lease of the shift on that date would hold, a night's morning tail included."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Floor, Shift, Site
from domain.models.held import window_held_sql
from domain.services.catalog import shift_window


@dataclass
class Holder:
    lease_id: uuid.UUID
    shift: str
    client: str
    status: str
    start: date
    end: date | None
    window: tuple[int, int]
    client_id: uuid.UUID | None = None


@dataclass
class SeatView:
    id: uuid.UUID
    label: str
    zone: str
    x: int
    y: int
    status: str
    holders: list[Holder] = field(default_factory=list)
    state: str = "free"


@dataclass
class FloorMap:
    site: Site
    floor: Floor
    day: date
    shift: Shift | None
    seats: list[SeatView]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for s in self.seats:
            out[s.state] += 1
        return dict(out)


def seat_state(status: str, holders: list[Holder], window: tuple[int, int] | None) -> str:
    """free, leased (the chosen shift), leased-full / leased-partial (all shifts), maintenance, retired."""
    if status != "active":
        return status
    if not holders:
        return "free"
    if window is not None:
        return "leased"
    full = any(h.window[0] == h.window[1] for h in holders)
    return "leased-full" if full else "leased-partial"


FLOOR_SEATS_SQL = """
SELECT id, label, zone, x, y, status FROM seats WHERE floor_id = $1 AND ($2::uuid IS NULL OR id = $2)
ORDER BY zone, y, x
"""
# the lease rows holding the floor's seats on day $2 in the shift's window (any time of the day
# when no shift is chosen): a stored occupancy segment of the row meets what a lease of the window on
# that day would hold. Only live rows have segments (voided rows and cancelled leases hold nothing);
# a row's segments lie within its dates and the day after its end, which narrows the rows to test.
_FLOOR_HOLDERS_SQL = """
SELECT ls.seat_id, ls.window_start_min, ls.window_end_min, l.id AS lease_id, l.shift_code, l.status,
       l.start_date, l.end_date, c.legal_name, l.client_id
FROM lease_seats ls
JOIN seats s ON s.id = ls.seat_id
JOIN leases l ON l.id = ls.lease_id
JOIN clients c ON c.id = l.client_id
WHERE s.floor_id = $1 AND ($3::uuid IS NULL OR s.id = $3) AND NOT ls.voided AND l.status <> 'cancelled'
  AND ls.start_date <= $2::date + 1 AND (ls.end_date IS NULL OR ls.end_date >= $2::date - 1)
  AND EXISTS (SELECT 1 FROM lease_seat_segments g WHERE g.lease_seat_id = ls.id AND {held})
"""
# one statement text per window (a handful of shifts), each prepared once by asyncpg
_holders_sql: dict[tuple[int, int], str] = {}


def floor_holders_sql(window: tuple[int, int]) -> str:
    sql = _holders_sql.get(window)
    if sql is None:
        sql = _holders_sql[window] = _FLOOR_HOLDERS_SQL.format(held=window_held_sql("g", window, "$2::date"))
    return sql


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction (begun first, so that the raw
    statements run inside it): SQLAlchemy's per-row result processing would cost more than the query."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    return (await conn.get_raw_connection()).driver_connection


async def load_floor_map(
    session: AsyncSession, site: Site, floor: Floor, day: date, shift: Shift | None, *, only_seat: uuid.UUID | None = None
) -> FloorMap:
    """Two queries whatever the floor's size: its seats, and the lease rows holding them on `day`
    (`only_seat`: just that seat of the floor, for its panel)."""
    conn = await _driver(session)
    seats = await conn.fetch(FLOOR_SEATS_SQL, floor.id, only_seat)
    window = shift_window(shift) if shift is not None else None
    # no shift chosen: held at any minute of the day (an equal start and end is the whole day)
    rows = await conn.fetch(floor_holders_sql(window or (0, 0)), floor.id, day, only_seat)
    holders: dict[uuid.UUID, list[Holder]] = defaultdict(list)
    for r in rows:
        holders[r[0]].append(Holder(r[3], r[4], r[8], r[5], r[6], r[7], (r[1], r[2]), r[9]))
    views = []
    for sid, label, zone, x, y, status in seats:
        hs = holders.get(sid)
        if hs is None:
            views.append(SeatView(sid, label, zone, x, y, status, [], "free" if status == "active" else status))
        else:
            hs.sort(key=lambda h: h.window)
            views.append(SeatView(sid, label, zone, x, y, status, hs, seat_state(status, hs, window)))
    return FloorMap(site, floor, day, shift, views)


def tenant_view(fm: FloorMap, client_id: uuid.UUID) -> FloorMap:
    """The floor as a client may see it: its own seats ``mine`` with its own holders only, another
    tenant's ``taken`` with no holder at all (neither who, nor which lease, nor its dates), the rest
    as they are. What is left out is not in the result, so no page can leak it by accident."""
    seats = []
    for s in fm.seats:
        own = [h for h in s.holders if h.client_id == client_id]
        if s.status != "active":
            state = s.status
        elif own:
            state = "mine"
        elif s.holders:
            state = "taken"
        else:
            state = "free"
        seats.append(SeatView(s.id, s.label, s.zone, s.x, s.y, s.status, own, state))
    return FloorMap(fm.site, fm.floor, fm.day, fm.shift, seats)


async def site_shifts(session: AsyncSession, site_id: uuid.UUID) -> list[Shift]:
    return list((await session.scalars(select(Shift).where(Shift.site_id == site_id).order_by(Shift.starts_at))).all())


async def site_floors(session: AsyncSession, site_id: uuid.UUID) -> list[Floor]:
    return list((await session.scalars(select(Floor).where(Floor.site_id == site_id).order_by(Floor.level, Floor.name))).all())


async def all_sites(session: AsyncSession) -> list[Site]:
    """Every site, by code (the map's and the lease pages' site pickers)."""
    return list((await session.scalars(select(Site).order_by(Site.code))).all())
