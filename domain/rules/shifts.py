"""Shift windows as minutes of the day, and when two leases of one seat conflict."""

from __future__ import annotations

from datetime import date, time

DAY_MINUTES = 1440


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def window_ranges(start_min: int, end_min: int) -> list[tuple[int, int]]:
    """Half-open minute ranges of a daily window. start == end is the whole day (FULL);
    end < start crosses midnight. Mirrors the SQL function ``seat_window``."""
    if start_min == end_min:
        return [(0, DAY_MINUTES)]
    if start_min < end_min:
        return [(start_min, end_min)]
    # a window ending at midnight (end 00:00) is one range
    return [(start_min, DAY_MINUTES), (0, end_min)] if end_min else [(start_min, DAY_MINUTES)]


def windows_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return any(
        s1 < e2 and s2 < e1 for s1, e1 in window_ranges(*a) for s2, e2 in window_ranges(*b)
    )


def dates_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Inclusive date ranges; None is open-ended."""
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


def leases_conflict(
    a_window: tuple[int, int], a_start: date, a_end: date | None,
    b_window: tuple[int, int], b_start: date, b_end: date | None,
) -> bool:
    return dates_overlap(a_start, a_end, b_start, b_end) and windows_overlap(a_window, b_window)
