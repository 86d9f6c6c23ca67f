"""A lease's seat price on a given day (issue 11, "terms that hold"), pure.

A lease carries its own monthly seat price from booking (its *base*), optionally dated price steps
(`lease_price_steps`: from this date, this price) and optionally a yearly escalation percentage.
The price in force on day D:

- the latest step dated on or before D gives the price and its anchor date; with none, the base
  price anchored at the lease's start date;
- every anniversary of the lease's start strictly after the anchor and on or before D raises it
  by the percentage, compounding, rounded half up to a minor unit each year (what a client's
  letter would show: "from 2032-03-15 your seat costs PHP 15,450.00").

So a step set on an anniversary (a renewal at a new price) replaces that year's escalation, and
escalation then continues from the new price on the anniversaries after it. A start on 29 February
has its anniversary on 28 February in common years.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.rules.money import div_half_up


def anniversary(start: date, years: int) -> date:
    """The `years`-th anniversary of `start` (29 February falls on 28 February in common years)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def escalate(price_minor: int, pct: Decimal, times: int) -> int:
    """`price` raised by `pct` percent `times` times, rounded half up after each raise."""
    r = Fraction(pct)
    for _ in range(times):
        price_minor = div_half_up(price_minor * (100 * r.denominator + r.numerator), 100 * r.denominator)
    return price_minor


def _anniversaries_between(start: date, after: date, upto: date) -> int:
    """How many anniversaries of `start` fall in (after, upto]."""
    if upto <= after:
        return 0
    n = 0
    k = max(1, after.year - start.year)
    while True:
        a = anniversary(start, k)
        if a > upto:
            return n
        if a > after:
            n += 1
        k += 1


def price_on(
    day: date,
    *,
    base_minor: int,
    start_date: date,
    steps: Sequence[tuple[date, int]] = (),
    escalation_pct: Decimal | None = None,
) -> int:
    """The monthly seat price in force on `day` (steps sorted by date)."""
    price, anchor = base_minor, start_date
    for when, step_price in steps:
        if when > day:
            break
        price, anchor = step_price, when
    if escalation_pct:
        price = escalate(price, escalation_pct, _anniversaries_between(start_date, anchor, day))
    return price


def price_segments(
    first: date,
    last: date,
    *,
    base_minor: int,
    start_date: date,
    steps: Sequence[tuple[date, int]] = (),
    escalation_pct: Decimal | None = None,
) -> list[tuple[date, date, int]]:
    """[first, last] cut into runs of days with one price each: (from, to inclusive, price)."""
    changes = {when for when, _ in steps if first < when <= last}
    if escalation_pct:
        k = max(1, first.year - start_date.year)
        while (a := anniversary(start_date, k)) <= last:
            if a > first:
                changes.add(a)
            k += 1
    out: list[tuple[date, date, int]] = []
    cut = [first, *sorted(changes)]
    for i, s in enumerate(cut):
        e = last if i == len(cut) - 1 else date.fromordinal(cut[i + 1].toordinal() - 1)
        p = price_on(s, base_minor=base_minor, start_date=start_date, steps=steps, escalation_pct=escalation_pct)
        if out and out[-1][2] == p:
            out[-1] = (out[-1][0], e, p)
        else:
            out.append((s, e, p))
    return out
