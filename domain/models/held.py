"""The one rule "this seat is held on day D in window W", for every reader.

The rule is the SQL function ``seat_held`` (migration 0012_seat_held): a stored occupancy segment
(a row of lease_seat_segments, written from ``lease_seat_segments_of`` by the triggers on
lease_seats) holds a minute that a lease of the daily window [a, b) on the dates s..e would hold, a
night shift's morning tail included; a = b asks for any minute of the day. Its Python twin is
domain/rules/shifts.py ``occupancy_segments`` / ``leases_conflict``.

Readers: availability and booking (domain/leasing/availability.py), the seat map
(domain/leasing/floor_map.py), occupancy (domain/services/reports.py), the lease-state pass
(domain/leasing/worker_pass.py), provisioning's desired state and devices, and the billing run
(``shift_days_sql``: the days a lease seat's shifts start on).
They call it through these builders, never restate it.

Its speed depends on PostgreSQL inlining it: pass columns, bind parameters or literals. An argument
that is a sub-query (a shift's window read in the same statement, say) is used several times in the
body, so PostgreSQL calls the function per row instead: an availability search took 5.7x as long.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, Integer, cast, func, literal_column, null
from sqlalchemy.sql.elements import ColumnElement

from domain.models.lease import LeaseSeatSegment

ANY_TIME = (0, 0)
"""The window of a whole day: held at any minute of it."""


def held(seg: type[LeaseSeatSegment] | Any, start: Any, end: Any | None, window: tuple[int, int]) -> ColumnElement[bool]:
    """The segment ``seg`` (the model or an alias) holds a minute that a lease of ``window`` on the
    dates ``start``..``end`` (None: open-ended) would hold. The window's minutes are SQL literals,
    so that PostgreSQL folds the rule's cases once per statement."""
    lo, hi = (literal_column(str(int(m)), Integer) for m in window)
    return func.seat_held(
        seg.start_date,
        seg.end_date,
        seg.win_lo,
        seg.win_hi,
        start,
        cast(null(), Date) if end is None else end,
        lo,
        hi,
        type_=Boolean,
    )


def held_sql(seg: str, start: str, end: str, lo: str, hi: str) -> str:
    """``held`` as SQL text, for raw queries: ``seg`` is the alias of a lease_seat_segments row, the
    others SQL expressions (``end`` may be ``'NULL'`` for an open end; a window's minutes may be
    columns, as occupancy reads each shift's own)."""
    end = "NULL::date" if end.upper() == "NULL" else end
    return f"seat_held({seg}.start_date, {seg}.end_date, {seg}.win_lo, {seg}.win_hi, {start}, {end}, {lo}, {hi})"


def window_held_sql(seg: str, window: tuple[int, int], day: str) -> str:
    """SQL: the segment ``seg`` holds a minute that a lease of ``window`` on the one date ``day`` would hold."""
    return held_sql(seg, day, day, str(int(window[0])), str(int(window[1])))


def lease_seat_may_hold_sql(ls: str, start: str, end: str = "NULL") -> str:
    """SQL, a cheap necessary condition of ``lease_seat_held_sql`` on the row's own columns: it is
    live, and its segments (which lie within its dates and the day after its end) can meet the days."""
    narrow = f"NOT {ls}.voided AND ({ls}.end_date IS NULL OR {ls}.end_date >= ({start}) - 1)"
    return narrow if end.upper() == "NULL" else f"{narrow} AND {ls}.start_date <= ({end})"


def lease_seat_held_sql(ls: str, start: str, end: str = "NULL") -> str:
    """SQL: the lease_seats row ``ls`` holds its seat at some minute of some day from ``start`` to
    ``end`` (``'NULL'``: any day from ``start`` on). Voided rows hold nothing (they have no segments)."""
    inner = held_sql("held_g", start, end, "0", "0")
    return (
        f"({lease_seat_may_hold_sql(ls, start, end)} AND EXISTS (SELECT 1 FROM lease_seat_segments held_g "
        f"WHERE held_g.lease_seat_id = {ls}.id AND {inner}))"
    )


def shift_days_sql(ls: str, start: str, end: str) -> str:
    """SQL: the lease_seats row ``ls`` has a shift starting on some day from ``start`` to ``end``.

    A shift belongs to the date it starts (PRODUCT.md rule 1: a night's morning tail is part of the
    day before), so what billing charges for is the row's own dates, asked of the rule by whole
    days: ``seat_held`` with both windows the whole day is the overlap of the two date ranges."""
    return f"seat_held({ls}.start_date, {ls}.end_date, 0, 1440, {start}, {end}, 0, 0)"
