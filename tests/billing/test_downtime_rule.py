"""The downtime credit rule (billing/downtime_rule.py), on plain values: leased hours only, per
site-local month, the multiplier and the minimum outage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing.downtime_rule import DowntimeRule, seat_losses
from domain.rules.shifts import Segment, occupancy_segments

MANILA = ZoneInfo("Asia/Manila")


def at(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=MANILA).astimezone(UTC)


def night(start: date) -> list[Segment]:
    return list(occupancy_segments((21 * 60, 6 * 60), start, None))


def day(start: date) -> list[Segment]:
    return list(occupancy_segments((6 * 60, 15 * 60), start, None))


def flat(price: int) -> Callable[[date], int]:
    """A price that never changes."""
    return lambda _day: price


def test_a_day_seat_loses_nothing_at_night_a_night_seat_does() -> None:
    rule = DowntimeRule(min_minutes=30)
    start = date(2041, 3, 1)
    assert seat_losses(day(start), "Asia/Manila", at(2041, 3, 10, 1), at(2041, 3, 10, 5), flat(1_500_000), rule) == []
    (loss,) = seat_losses(night(start), "Asia/Manila", at(2041, 3, 10, 1), at(2041, 3, 10, 5), flat(1_500_000), rule)
    # March from the 1st: the first night's 3 evening hours, then 30 days of 6 morning + 3 evening hours
    assert (loss.period, loss.lost_seconds, loss.month_leased_seconds) == ("2041-03", 4 * 3600, (3 + 30 * 9) * 3600)
    assert loss.amount_minor == round(Decimal(1_500_000 * 4) / Decimal(273))  # 21978.02 -> 21978


def test_an_outage_across_months_is_priced_in_each_months_hours_with_the_multiplier() -> None:
    rule = DowntimeRule(min_minutes=30, multiplier=Decimal("2"))
    losses = seat_losses(night(date(2041, 1, 1)), "Asia/Manila", at(2041, 3, 31, 22), at(2041, 4, 1, 3), flat(900_000), rule)
    assert [(x.period, x.lost_seconds // 3600, x.month_leased_seconds // 3600) for x in losses] == [
        ("2041-03", 2, 31 * 9),
        ("2041-04", 3, 30 * 9),
    ]
    assert [x.amount_minor for x in losses] == [round(900_000 * 2 * 2 / 279), round(900_000 * 3 * 2 / 270)]


def test_below_the_minimum_nothing() -> None:
    rule = DowntimeRule(min_minutes=30)
    (loss,) = seat_losses(night(date(2041, 1, 1)), "Asia/Manila", at(2041, 3, 10, 1), at(2041, 3, 10, 1, 20), flat(900_000), rule)
    assert loss.lost_seconds == 20 * 60
    assert loss.amount_minor == 0
