"""When a seat is leased, as instants: the SLA clock's and the downtime credits' one rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rules.leased_time import always, instant_after, leased_intervals, leased_seconds
from domain.rules.shifts import occupancy_segments

MANILA = "Asia/Manila"
AUSTIN = "America/Chicago"
NIGHT = (22 * 60, 6 * 60)
DAY = (8 * 60, 17 * 60)


def at(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


def test_a_night_seat_is_leased_at_two_in_the_morning_and_a_day_seat_is_not() -> None:
    night = occupancy_segments(NIGHT, date(2026, 1, 1), None)
    day = occupancy_segments(DAY, date(2026, 1, 1), None)
    start, end = at(MANILA, 2026, 3, 10, 2), at(MANILA, 2026, 3, 10, 3)
    assert leased_seconds(night, MANILA, start, end) == 3600
    assert leased_seconds(day, MANILA, start, end) == 0


def test_the_night_window_runs_across_midnight_and_its_tail_after_the_last_day() -> None:
    # a lease of the night shift for 10 March only holds 22:00 on the 10th to 06:00 on the 11th
    segs = occupancy_segments(NIGHT, date(2026, 3, 10), date(2026, 3, 10))
    ivs = leased_intervals(segs, MANILA, at(MANILA, 2026, 3, 9), at(MANILA, 2026, 3, 13))
    assert ivs == [(at(MANILA, 2026, 3, 10, 22).astimezone(UTC), at(MANILA, 2026, 3, 11, 6).astimezone(UTC))]


def test_an_hour_of_sla_time_on_a_day_seat_reported_in_the_evening_is_due_next_morning() -> None:
    segs = occupancy_segments(DAY, date(2026, 1, 1), None)
    due = instant_after(segs, MANILA, at(MANILA, 2026, 3, 10, 16, 30), 3600)
    # 30 minutes before 17:00, the other 30 from 08:00 the next day
    assert due == at(MANILA, 2026, 3, 11, 8, 30)


def test_a_wall_clock_shift_counts_what_the_clock_shows_across_dst() -> None:
    # Austin springs forward on 8 March 2026 at 02:00: that night shift is an hour shorter
    segs = occupancy_segments(NIGHT, date(2026, 3, 1), None)
    short = leased_seconds(segs, AUSTIN, at(AUSTIN, 2026, 3, 7, 12), at(AUSTIN, 2026, 3, 8, 12))
    normal = leased_seconds(segs, AUSTIN, at(AUSTIN, 2026, 3, 14, 12), at(AUSTIN, 2026, 3, 15, 12))
    assert (normal, short) == (8 * 3600, 7 * 3600)
    # and it falls back on 1 November: that night is an hour longer
    long_ = leased_seconds(segs, AUSTIN, at(AUSTIN, 2026, 10, 31, 12), at(AUSTIN, 2026, 11, 1, 12))
    assert long_ == 9 * 3600


def test_one_instant_is_a_different_wall_clock_at_each_site() -> None:
    # 02:00 UTC is 10:00 in Manila (DAY seat leased) and 20:00 or 21:00 in Austin (not)
    segs = occupancy_segments(DAY, date(2026, 1, 1), None)
    start = datetime(2026, 6, 1, 2, tzinfo=UTC)
    assert leased_seconds(segs, MANILA, start, start + timedelta(hours=1)) == 3600
    assert leased_seconds(segs, AUSTIN, start, start + timedelta(hours=1)) == 0


def test_no_lease_ahead_means_no_due_instant_and_the_calendar_counts_every_hour() -> None:
    segs = occupancy_segments(DAY, date(2026, 1, 1), date(2026, 1, 31))
    assert instant_after(segs, MANILA, at(MANILA, 2026, 2, 1, 9), 60) is None
    start = at(MANILA, 2026, 2, 1, 23)
    assert instant_after(always(), MANILA, start, 7200) == start + timedelta(hours=2)


@settings(max_examples=60, deadline=None)
@given(
    lo=st.integers(0, 1439),
    hi=st.integers(0, 1439),
    first=st.integers(0, 20),
    days=st.integers(0, 10),
    offset_min=st.integers(0, 20 * 1440),
    length_min=st.integers(1, 3 * 1440),
    zone=st.sampled_from([MANILA, AUSTIN, "UTC", "Europe/London"]),
)
def test_leased_seconds_equal_a_minute_by_minute_count(
    lo: int, hi: int, first: int, days: int, offset_min: int, length_min: int, zone: str
) -> None:
    """Against the plainest reading: step minute by minute, ask the wall clock of each minute."""
    start_day = date(2026, 10, 20) + timedelta(days=first)
    segs = occupancy_segments((lo, hi), start_day, start_day + timedelta(days=days))
    start = datetime(2026, 10, 18, tzinfo=UTC) + timedelta(minutes=offset_min)
    end = start + timedelta(minutes=length_min)
    tz = ZoneInfo(zone)
    count = 0
    t = start
    while t < end:
        local = t.astimezone(tz)
        m = local.hour * 60 + local.minute
        if any(s.lo <= m < s.hi and s.start <= local.date() and (s.end is None or local.date() <= s.end) for s in segs):
            count += 1
        t += timedelta(minutes=1)
    assert leased_seconds(segs, zone, start, end) == count * 60
