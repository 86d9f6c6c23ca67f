"""The downtime credit rule (issue 15), pure: what an outage costs one leased seat.

For each site-local month the outage touches, the seat's credit is

    round_half_up(monthly price × leased seconds lost ÷ leased seconds of the seat in that month × multiplier)

where "leased" is domain/rules/leased_time.py's (the seat's shift windows as instants in the site's
time zone: a DAY seat's outage at 02:00 loses nothing, a NIGHT seat's does), the monthly price is the
lease's (its price step or escalation on the day, after its discount), and a seat whose leased time
lost over the whole outage is shorter than `min_minutes` earns nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from domain.rules.leased_time import Interval, leased_intervals, leased_seconds
from domain.rules.money import round_half_up
from domain.rules.shifts import Segment


@dataclass(frozen=True)
class DowntimeRule:
    multiplier: Decimal = Decimal("1")
    min_minutes: int = 30
    categories: tuple[str, ...] = ("power", "network")
    lookback_days: int = 30
    # a credit note above this (minor units, tax included) waits for finance (SEATLEASE_CREDIT_APPROVAL_MINOR)
    approval_threshold_minor: int = 5_000_000


@dataclass(frozen=True)
class MonthLoss:
    period: str  # YYYY-MM, site-local
    first_day: date  # the first local day of lost time in that month (its price applies)
    lost_seconds: int
    month_leased_seconds: int
    monthly_price_minor: int
    amount_minor: int


def _month_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.replace(day=1), time(0), tzinfo=tz).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _by_month(intervals: Iterable[Interval], tz: ZoneInfo) -> dict[date, list[Interval]]:
    """The intervals cut at the site's month boundaries, keyed by the month's first day."""
    out: dict[date, list[Interval]] = {}
    for iv in intervals:
        start = iv.start
        while start < iv.end:
            local = start.astimezone(tz).date()
            boundary = _month_start(_next_month(local), tz)
            end = min(iv.end, boundary)
            out.setdefault(local.replace(day=1), []).append(Interval(start, end))
            start = end
    return out


def seat_losses(
    segments: Iterable[Segment],
    zone: str,
    occurred_at: datetime,
    resolved_at: datetime,
    price_on: Callable[[date], int],
    rule: DowntimeRule,
) -> list[MonthLoss]:
    """One seat's loss per month of the outage [occurred_at, resolved_at); empty when it lost no leased time."""
    segs = list(segments)
    tz = ZoneInfo(zone)
    lost = leased_intervals(segs, zone, occurred_at, resolved_at)
    if not lost:
        return []
    total = sum(iv.seconds for iv in lost)
    below_minimum = total < rule.min_minutes * 60
    out: list[MonthLoss] = []
    for month, ivs in sorted(_by_month(lost, tz).items()):
        lost_s = round(sum(iv.seconds for iv in ivs))
        month_s = round(leased_seconds(segs, zone, _month_start(month, tz), _month_start(_next_month(month), tz)))
        first_day = min(iv.start for iv in ivs).astimezone(tz).date()
        price = price_on(first_day)
        amount = 0
        if not below_minimum and month_s > 0:
            amount = round_half_up(Fraction(price) * Fraction(lost_s, month_s) * Fraction(rule.multiplier))
        out.append(MonthLoss(f"{month:%Y-%m}", first_day, lost_s, month_s, price, amount))
    return out
