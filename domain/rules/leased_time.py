"""When a seat is leased, as instants: the help desk's one rule for "the hours the seat is leased".

A lease seat holds minutes [lo, hi) of every site-local date of its term (domain/rules/shifts.py
``occupancy_segments``; the table ``lease_seat_segments`` keeps the same rows), so a NIGHT seat
(22:00-06:00) is leased at 02:00 and a DAY seat (08:00-17:00) is not. Turning those wall-clock
minutes into instants is done here, in the site's time zone, so that a day that is 23 or 25 hours
long (DST) counts what the clock on the wall shows.

The SLA clock (domain/helpdesk/sla.py) counts its targets in these instants; the downtime credits
(billing/) price the hours of an outage that fall in them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from domain.rules.shifts import DAY_MINUTES, Segment


class Interval(NamedTuple):
    """A half-open interval of instants [start, end), both aware (UTC)."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _wall_to_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The instant a site-local wall clock shows `minute` minutes after midnight of `day` (1440: the
    next midnight), read as PEP 495 does: in a fall-back fold the earlier instant; a wall time in a
    spring-forward gap, which no clock shows, by the offset before the gap (02:00 becomes 03:00)."""
    if minute >= DAY_MINUTES:
        day, minute = day + timedelta(days=1), minute - DAY_MINUTES
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for iv in sorted(intervals):
        if iv.end <= iv.start:
            continue
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def leased_intervals(segments: Iterable[Segment], zone: str, start: datetime, end: datetime) -> list[Interval]:
    """The instants in [start, end) at which any of `segments` holds the seat, merged and sorted.

    `start` and `end` are aware instants; the result is in UTC."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("instants carry their offset")
    if end <= start:
        return []
    tz = ZoneInfo(zone)
    # local dates whose windows can reach [start, end): a window starts on its date and ends by the
    # next midnight, so the date before the first local date is enough
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    found: list[Interval] = []
    for seg in segments:
        d = max(first, seg.start)
        stop = last if seg.end is None else min(last, seg.end)
        while d <= stop:
            lo, hi = _wall_to_instant(d, seg.lo, tz), _wall_to_instant(d, seg.hi, tz)
            s, e = max(lo, start), min(hi, end)
            if s < e:
                found.append(Interval(s, e))
            d += timedelta(days=1)
    return _merge(found)


def leased_seconds(segments: Iterable[Segment], zone: str, start: datetime, end: datetime) -> float:
    """How long, in seconds, the seat is leased in [start, end)."""
    return sum(iv.seconds for iv in leased_intervals(segments, zone, start, end))


def instant_after(
    segments: Iterable[Segment], zone: str, start: datetime, seconds: float, *, horizon_days: int = 400
) -> datetime | None:
    """The instant at which `seconds` of leased time have passed since `start` (the SLA's due
    instant); None when the seat is not leased that long within `horizon_days` (no lease ahead)."""
    segs = list(segments)
    if seconds <= 0:
        return start
    left = seconds
    cursor = start
    # walk forward a week at a time: a due instant is usually within days
    for _ in range(0, horizon_days, 7):
        window_end = cursor + timedelta(days=7)
        for iv in leased_intervals(segs, zone, cursor, window_end):
            if iv.seconds >= left:
                return iv.start + timedelta(seconds=left)
            left -= iv.seconds
        cursor = window_end
    return None


def always(start: date | None = None) -> list[Segment]:
    """Every minute of every day: the site's calendar for a ticket that concerns no leased seat."""
    return [Segment(start or date.min, None, 0, DAY_MINUTES)]
