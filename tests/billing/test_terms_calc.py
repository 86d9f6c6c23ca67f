"""Issue 11, terms that hold: a lease's seat price by day (dated steps, yearly escalation) in the
invoice math, against the day-walking oracle, and hand-checked across an anniversary mid-month."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import calc
from billing.facts import Billed, LeaseFacts, Month, SeatSpan
from domain.rules import pricing
from tests.billing import oracle


def facts(
    seats: list[tuple[date, date | None]],
    *,
    price: int = 1_500_000,
    start: date,
    steps: tuple[tuple[date, int], ...] = (),
    pct: str | None = None,
) -> LeaseFacts:
    return LeaseFacts(
        lease_id=uuid.uuid4(),
        plan_name="Standard",
        shift="DAY",
        monthly_price_minor=price,
        setup_fee_minor=0,
        deposit_months=0,
        start_date=start,
        end_date=None,
        status="active",
        discount_pct=Decimal(0),
        seats=tuple(SeatSpan(s, e) for s, e in seats),
        price_steps=steps,
        escalation_pct=Decimal(pct) if pct else None,
    )


def seat_total(f: LeaseFacts, month: Month) -> int:
    return sum(x.amount_minor for x in calc.seat_lines(f, month))


def test_escalation_across_an_anniversary_mid_month() -> None:
    """A lease from 2030-03-15 with 5 % a year: March 2031 bills 14 days at the old price and
    17 days at the new one, each prorated on its own."""
    start = date(2030, 3, 15)
    f = facts([(start, None), (start, None)], start=start, pct="5")
    lines = calc.seat_lines(f, Month(2031, 3))
    assert [(x.service_start, x.service_end, x.unit_price_minor, x.quantity) for x in lines] == [
        (date(2031, 3, 1), date(2031, 3, 14), 1_500_000, 2),
        (date(2031, 3, 15), date(2031, 3, 31), 1_575_000, 2),
    ]
    assert sum(x.amount_minor for x in lines) == oracle.rhu(1_500_000 * 2 * 14, 31) + oracle.rhu(1_575_000 * 2 * 17, 31)
    # the next year compounds from the raised price; the month before the first anniversary does not move
    assert calc.seat_lines(f, Month(2032, 4))[0].unit_price_minor == 1_653_750
    assert seat_total(f, Month(2031, 2)) == 2 * 1_500_000


def test_a_dated_price_step_replaces_that_years_escalation() -> None:
    start = date(2030, 3, 15)
    f = facts([(start, None)], start=start, pct="10", steps=((date(2031, 3, 15), 1_600_000),))
    assert (
        pricing.price_on(
            date(2031, 3, 15), base_minor=1_500_000, start_date=start, steps=f.price_steps, escalation_pct=Decimal(10)
        )
        == 1_600_000
    )
    assert (
        pricing.price_on(
            date(2032, 3, 15), base_minor=1_500_000, start_date=start, steps=f.price_steps, escalation_pct=Decimal(10)
        )
        == 1_760_000
    )


def test_a_leap_day_start_escalates_on_28_february() -> None:
    start = date(2032, 2, 29)
    assert pricing.anniversary(start, 1) == date(2033, 2, 28)
    f = facts([(start, None)], start=start, pct="3")
    (before, after) = calc.seat_lines(f, Month(2033, 2))
    assert (before.service_end, after.service_start, after.unit_price_minor) == (date(2033, 2, 27), date(2033, 2, 28), 1_545_000)


spans = st.tuples(st.dates(date(2030, 1, 1), date(2032, 12, 31)), st.integers(0, 500), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(spans, min_size=1, max_size=6),
    st.integers(1, 10_000_000),
    st.dates(date(2029, 1, 1), date(2031, 12, 31)),
    st.lists(st.tuples(st.dates(date(2029, 1, 2), date(2033, 12, 31)), st.integers(1, 10_000_000)), max_size=3),
    st.sampled_from([None, "0", "2.5", "5", "7.25", "12"]),
    st.sampled_from([(2031, 1), (2031, 2), (2032, 2), (2030, 12), (2031, 3), (2032, 6), (2033, 2)]),
)
def test_dated_seat_prices_match_the_day_walking_oracle(
    raw: list[tuple[date, int, bool]],
    price: int,
    start: date,
    raw_steps: list[tuple[date, int]],
    pct: str | None,
    ym: tuple[int, int],
) -> None:
    seats = [(s, None if open_ else s + timedelta(days=n)) for s, n, open_ in raw]
    steps = tuple(sorted({d: p for d, p in raw_steps if d > start}.items()))
    f = facts(seats, price=price, start=start, steps=steps, pct=pct)

    def price_of(d: date) -> int:
        return oracle.seat_price_on(d, price, start, list(steps), pct)

    assert seat_total(f, Month(*ym)) == oracle.seat_charge_dated(price_of, seats, *ym)


def test_escalation_is_trued_up_like_any_other_change_and_nothing_else_moves() -> None:
    """Billed at the flat price, a price step added later for an invoiced month trues up exactly the
    difference; billed with the steps, re-running finds nothing to true up."""
    start = date(2031, 1, 1)
    flat = facts([(start, None)], start=start)
    stepped = replace(flat, price_steps=((date(2031, 2, 15), 1_800_000),))
    months = [Month(2031, 1), Month(2031, 2)]
    billed = Billed()
    for m in months:
        for kind, v in calc.expected_monthly(flat, m).items():
            billed.monthly[(m.first, kind)] = v
    ups = calc.trueup_lines(stepped, months, billed)
    assert [(x.service_month, x.amount_minor) for x in ups] == [
        (date(2031, 2, 1), oracle.rhu(1_500_000 * 14, 28) + oracle.rhu(1_800_000 * 14, 28) - 1_500_000)
    ]
    billed_now = Billed()
    for m in months:
        for kind, v in calc.expected_monthly(stepped, m).items():
            billed_now.monthly[(m.first, kind)] = v
    assert calc.trueup_lines(stepped, months, billed_now) == []
