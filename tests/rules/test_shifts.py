"""Shift windows: the Python rule against a minute-set oracle and against PostgreSQL's `seat_window`."""

from __future__ import annotations

import random
from datetime import date, timedelta

import asyncpg
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.shifts import DAY_MINUTES, dates_overlap, leases_conflict, window_ranges, windows_overlap

minute = st.integers(0, DAY_MINUTES - 1)
window = st.tuples(minute, minute)


def _minutes(w: tuple[int, int]) -> set[int]:
    start, end = w
    if start == end:
        return set(range(DAY_MINUTES))
    if start < end:
        return set(range(start, end))
    return set(range(start, DAY_MINUTES)) | set(range(0, end))


def _days(start: date, end: date | None, horizon: date) -> set[date]:
    last = end if end is not None else horizon
    return {start + timedelta(days=i) for i in range((last - start).days + 1)}


@given(window, window)
def test_windows_overlap_iff_they_share_a_minute(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert windows_overlap(a, b) == bool(_minutes(a) & _minutes(b))
    assert windows_overlap(a, b) == windows_overlap(b, a)


@given(window)
def test_window_ranges_cover_exactly_the_window(w: tuple[int, int]) -> None:
    covered: set[int] = set()
    for s, e in window_ranges(*w):
        assert 0 <= s < e <= DAY_MINUTES
        covered |= set(range(s, e))
    assert covered == _minutes(w)


def test_full_day_and_night_examples() -> None:
    full, day, night = (0, 0), (360, 900), (1260, 360)
    assert windows_overlap(full, day)
    assert windows_overlap(full, night)
    assert not windows_overlap(day, night)  # one seat: DAY to one client, NIGHT to another
    assert windows_overlap(night, (300, 420))
    assert windows_overlap(night, (1380, 60))


d0 = date(2030, 1, 1)
dates = st.integers(0, 60).map(lambda i: d0 + timedelta(days=i))
maybe_end = st.one_of(st.none(), st.integers(0, 60))


@given(dates, maybe_end, dates, maybe_end)
def test_dates_overlap_iff_they_share_a_day(a_start: date, a_len: int | None, b_start: date, b_len: int | None) -> None:
    a_end = None if a_len is None else a_start + timedelta(days=a_len)
    b_end = None if b_len is None else b_start + timedelta(days=b_len)
    horizon = d0 + timedelta(days=200)
    assert dates_overlap(a_start, a_end, b_start, b_end) == bool(_days(a_start, a_end, horizon) & _days(b_start, b_end, horizon))


def _crosses_midnight(w: tuple[int, int]) -> bool:
    return w[0] > w[1] > 0


@given(window, dates, maybe_end, window, dates, maybe_end)
def test_leases_conflict_needs_both(
    wa: tuple[int, int], sa: date, la: int | None, wb: tuple[int, int], sb: date, lb: int | None
) -> None:
    ea = None if la is None else sa + timedelta(days=la)
    eb = None if lb is None else sb + timedelta(days=lb)
    conflict = leases_conflict(wa, sa, ea, wb, sb, eb)
    if conflict:  # a conflict needs a shared minute of the day, and dates that meet (a night's morning counts)
        assert windows_overlap(wa, wb)
        assert dates_overlap(sa, ea + timedelta(days=1) if ea else None, sb, eb + timedelta(days=1) if eb else None)
    if not _crosses_midnight(wa) and not _crosses_midnight(wb):  # nothing runs into the next day
        assert conflict == (dates_overlap(sa, ea, sb, eb) and windows_overlap(wa, wb))


def test_a_night_holds_the_morning_after_its_last_date_not_before_its_first() -> None:
    night, full, day, early = (1260, 360), (0, 0), (360, 900), (0, 360)
    first, last = date(2031, 4, 1), date(2031, 4, 10)
    after = last + timedelta(days=1)
    assert leases_conflict(night, first, last, full, after, None)
    assert leases_conflict(night, first, last, early, after, after)
    assert not leases_conflict(night, first, last, day, after, None)
    assert not leases_conflict(night, first, last, night, after, None)
    assert not leases_conflict(night, first, None, early, first, first)
    assert not leases_conflict((1260, 0), first, last, full, after, None)  # ends at midnight: no tail


async def test_sql_seat_window_agrees_with_the_python_rule(db: asyncpg.Pool) -> None:
    """The exclusion constraint uses `seat_window`; it must say exactly what the Python rule says."""
    edges = [0, 1, 359, 360, 361, 719, 720, 900, 1259, 1260, 1380, 1438, 1439]
    pairs = [(a, b) for a in edges for b in edges]
    rng = random.Random(20261122)
    pairs += [(rng.randrange(DAY_MINUTES), rng.randrange(DAY_MINUTES)) for _ in range(300)]
    windows = sorted(set(pairs))
    cases = [(a, b) for a in windows for b in rng.sample(windows, 25)]
    rows = await db.fetch(
        """SELECT a0, a1, b0, b1, seat_window(a0, a1) && seat_window(b0, b1) AS overlap,
                  (SELECT sum(upper(r) - lower(r)) FROM unnest(seat_window(a0, a1)) r) AS minutes
           FROM unnest($1::int[], $2::int[], $3::int[], $4::int[]) AS t(a0, a1, b0, b1)""",
        [c[0][0] for c in cases],
        [c[0][1] for c in cases],
        [c[1][0] for c in cases],
        [c[1][1] for c in cases],
    )
    assert len(rows) == len(cases) > 10000
    for r in rows:
        a, b = (r["a0"], r["a1"]), (r["b0"], r["b1"])
        assert r["overlap"] == windows_overlap(a, b), (a, b)
        assert r["minutes"] == len(_minutes(a)), a
