"""Availability: which seats are free for a shift window and a term.

"Free" is read from the same table the exclusion constraint guards (lease_seat_segments), with the
same rule (``seat_held``, domain/models/held.py), so a seat shown free is exactly a seat a booking can take."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from domain.errors import ValidationFailed
from domain.models import (
    LeaseSeatSegment,
    Seat,
)
from domain.models.held import held
from domain.rules.allocation import ZoneKey
from domain.services.catalog import site_shift_window

# 'infinity' as a literal, not a bind, so that the expression matches ix_lease_seat_segments_site_live
_OPEN_END = literal_column("'infinity'::date", Date)


def _conflicting_rows(site_id: Any, window: tuple[int, int], start: Any, end: Any | None) -> ColumnElement[bool]:
    """A live lease of Seat.id holds some minute that a lease of this window and term would.

    The rule is ``seat_held`` (domain/models/held.py), over the stored segments of every live
    lease seat (table lease_seat_segments, the one the exclusion constraint guards), so a seat
    shown free is exactly a seat the database lets a booking take. ``start``/``end`` may be SQL
    bind parameters.

    Every part of what the asked lease holds starts on or after ``start``, so only segments still
    running then can meet it: that bound, written on the indexed expression, lets PostgreSQL read
    one site's segments from the index ix_lease_seat_segments_site_live alone and skip the past."""
    seg = LeaseSeatSegment
    return exists().where(
        seg.site_id == site_id,
        seg.seat_id == Seat.id,
        func.coalesce(seg.end_date, _OPEN_END) >= start,
        held(seg, start, end, window),
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


async def taken_labels(
    session: AsyncSession,
    site_id: uuid.UUID,
    seat_ids: Sequence[uuid.UUID],
    window: tuple[int, int],
    start: date,
    end: date | None,
) -> list[str]:
    """The labels of those of ``seat_ids`` another live lease holds for this window and term (issue
    14: a 409 names the seats that are taken)."""
    stmt = select(Seat.label).where(Seat.id.in_(seat_ids), _conflicting_rows(site_id, window, start, end))
    return sorted((await session.scalars(stmt.order_by(Seat.label))).all())


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


_LIMIT = bindparam("lim", type_=Integer())
# the search statement, built once per (shift window, bounded term), as the booking one
_page_stmts: dict[tuple[tuple[int, int], bool], Any] = {}


def _page_stmt(window: tuple[int, int], bounded: bool) -> Any:
    stmt = _page_stmts.get((window, bounded))
    if stmt is None:
        stmt = _page_stmts[window, bounded] = free_seats_page_stmt(_SITE, window, _START, _END if bounded else None, _LIMIT)
    return stmt


async def search_free_seats(
    session: AsyncSession, site_id: uuid.UUID, window: tuple[int, int], start: date, end: date | None, *, limit: int
) -> tuple[int, list[FreeSeatRow]]:
    """Availability in one query: (how many seats are free, the first ``limit`` of them)."""
    params: dict[str, Any] = {"site": site_id, "start": start, "lim": limit}
    if end is not None:
        params["end"] = end
    # Core on the session's connection: the ORM layers add a third of this path's Python time
    conn = await session.connection()
    rows = (await conn.execute(_page_stmt(window, end is not None), params)).all()
    return (int(rows[0][4]) if rows else 0), [FreeSeatRow(*r[:4]) for r in rows]


async def search(
    session: AsyncSession, site_id: uuid.UUID, shift_code: str, start: date, end: date | None, *, limit: int
) -> tuple[int, list[FreeSeatRow]]:
    """The availability search: the free seats of a site for one of its shifts and a term (``end``
    None: open-ended). 404 for an unknown site, 422 naming ``shift`` for an unknown shift."""
    if end is not None and end < start:
        raise ValidationFailed("end is before start", field="end")
    window = await site_shift_window(session, site_id, shift_code)
    return await search_free_seats(session, site_id, window, start, end, limit=limit)
