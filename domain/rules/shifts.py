"""Shift windows as minutes of the day, and when two leases of one seat conflict.

A lease of a seat holds, on every date of its term, its shift window starting that date; a
window that crosses midnight runs on into the next morning, so the lease also holds the morning
after its last date (PRODUCT.md rule 1) and not the morning of its first date. Exactly that is
described by at most two *occupancy segments* per lease seat, each a (date range, one minute
range) product: the evening part on the lease's own dates and, for a shift that crosses midnight,
the morning tail on the dates shifted by one. Two leases of a seat conflict iff a segment of one
overlaps a segment of the other; the database keeps the same segments (migration 0008_night_tail,
table ``lease_seat_segments``) and its exclusion constraint is this rule.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import NamedTuple

DAY_MINUTES = 1440


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def window_ranges(start_min: int, end_min: int) -> list[tuple[int, int]]:
    """Half-open minute ranges of a daily window folded onto one day. start == end is the whole
    day (FULL); end < start crosses midnight. Mirrors the SQL function ``seat_window``."""
    if start_min == end_min:
        return [(0, DAY_MINUTES)]
    if start_min < end_min:
        return [(start_min, end_min)]
    # a window ending at midnight (end 00:00) is one range
    return [(start_min, DAY_MINUTES), (0, end_min)] if end_min else [(start_min, DAY_MINUTES)]


def windows_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in window_ranges(*a) for s2, e2 in window_ranges(*b))


def dates_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Inclusive date ranges; None is open-ended."""
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


class Segment(NamedTuple):
    """Part of what a lease seat holds: minutes [lo, hi) of every date in [start, end]
    (inclusive; end None = open-ended)."""

    start: date
    end: date | None
    lo: int
    hi: int


def occupancy_segments(window: tuple[int, int], start: date, end: date | None) -> list[Segment]:
    """What a lease of one seat with this daily window and term holds, as at most two segments.

    The SQL function ``lease_seat_segments_of`` (migration 0008_night_tail) builds the same rows."""
    a, b = window
    if a == b:
        return [Segment(start, end, 0, DAY_MINUTES)]
    if a < b:
        return [Segment(start, end, a, b)]
    own = Segment(start, end, a, DAY_MINUTES)
    if b == 0:
        return [own]
    one = timedelta(days=1)
    return [own, Segment(start + one, None if end is None else end + one, 0, b)]


def segments_overlap(x: Segment, y: Segment) -> bool:
    return x.lo < y.hi and y.lo < x.hi and dates_overlap(x.start, x.end, y.start, y.end)


def leases_conflict(
    a_window: tuple[int, int],
    a_start: date,
    a_end: date | None,
    b_window: tuple[int, int],
    b_start: date,
    b_end: date | None,
) -> bool:
    """Two leases of one seat want some minute of the same night or day (see the module doc)."""
    return any(
        segments_overlap(x, y)
        for x in occupancy_segments(a_window, a_start, a_end)
        for y in occupancy_segments(b_window, b_start, b_end)
    )
