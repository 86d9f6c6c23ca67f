"""A slow, obviously-correct oracle for seat billing: walk every calendar day of the month."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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


def seat_price_on(day: date, base: int, start: date, steps: list[tuple[date, int]] | None = None, pct: str | None = None) -> int:
    """Issue 11's seat price of a lease on one day, the slow way: take the latest dated step on or
    before the day (else the base, from the start), then walk the years one by one and raise the
    price by the percentage (Decimal, half up) on each anniversary after that step, up to the day."""
    price, anchor = base, start
    for when, p in sorted(steps or []):
        if when <= day:
            price, anchor = p, when
    if pct:
        years = 1
        while True:
            try:
                ann = date(start.year + years, start.month, start.day)
            except ValueError:  # 29 February in a common year
                ann = date(start.year + years, 2, 28)
            if ann > day:
                break
            if ann > anchor:
                price = int((Decimal(price) * (100 + Decimal(pct)) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            years += 1
    return price


def seat_charge_dated(price_of: Callable[[date], int], seats: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Like `seat_charge`, with the price read per day: seats held on the same days form a group,
    and each run of days of one price within the group is prorated on its own (rule 4)."""
    days = month_days(year, month)
    groups: Counter[tuple[date, ...]] = Counter()
    for start, end in seats:
        held = tuple(d for d in days if start <= d and (end is None or d <= end))
        if held:
            groups[held] += 1
    total = 0
    for held, qty in groups.items():
        runs: list[tuple[int, int]] = []  # (price, days)
        for d in held:
            p = price_of(d)
            if runs and runs[-1][0] == p:
                runs[-1] = (p, runs[-1][1] + 1)
            else:
                runs.append((p, 1))
        total += sum(rhu(p * qty * n, len(days)) for p, n in runs)
    return total


# --- changes during a term: dated add-ons and seat moves (issue 11) ---
def addon_charge(
    price: int,
    rows: list[tuple[int, date | None, date | None]],
    lease_start: date,
    lease_end: date | None,
    year: int,
    month: int,
) -> int:
    """A monthly add-on's dated rows (quantity, start or None = the lease's, end or None = the
    lease's): walk the days; each row is charged for its own days held within the lease's term."""
    days = month_days(year, month)
    total = 0
    for qty, start, end in rows:
        first = max(lease_start, start) if start else lease_start
        held = [d for d in days if first <= d and (end is None or d <= end) and (lease_end is None or d <= lease_end)]
        if held:
            total += rhu(price * qty * len(held), len(days))
    return total


def moved_seat_days(spans: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Seat-days of the month over a seat's successive places (a seat moved is the same seat)."""
    return sum(1 for d in month_days(year, month) if any(s <= d and (e is None or d <= e) for s, e in spans))
