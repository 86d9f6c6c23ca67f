"""A slow, obviously-correct oracle for seat billing: walk every calendar day of the month."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal


def month_days(year: int, month: int) -> list[date]:
    days = []
    d = date(year, month, 1)
    while d.month == month:
        days.append(d)
        d += timedelta(days=1)
    return days


def rhu(numerator: int, denominator: int) -> int:
    """Round half up (away from zero) with Decimal, independent of domain.rules.money."""
    q = Decimal(numerator) / Decimal(denominator)
    return int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def seat_charge(price: int, seats: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Sum over groups of seats held on exactly the same days of the month."""
    days = month_days(year, month)
    groups: Counter[tuple[date, ...]] = Counter()
    for start, end in seats:
        held = tuple(d for d in days if start <= d and (end is None or d <= end))
        if held:
            groups[held] += 1
    return sum(rhu(price * qty * len(held), len(days)) for held, qty in groups.items())


def tax(amount: int, rate: str) -> int:
    return rhu(amount * int(Decimal(rate) * 10000), 10000)
