"""The pure invoice math against the day-walking oracle (Hypothesis) and hand-checked cases."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing import calc
from billing.facts import AddOnFacts, Billed, IncludedFacts, LeaseFacts, Line, Month, SeatSpan
from tests.billing import oracle


def facts(
    seats: list[tuple[date, date | None]],
    *,
    price: int = 1_500_000,
    start: date | None = None,
    end: date | None = None,
    discount: str = "0",
    status: str = "active",
    setup: int = 0,
    deposit: int = 0,
    add_ons: tuple[AddOnFacts, ...] = (),
    included: tuple[IncludedFacts, ...] = (),
) -> LeaseFacts:
    return LeaseFacts(
        lease_id=uuid.uuid4(),
        plan_name="Standard",
        shift="DAY",
        monthly_price_minor=price,
        setup_fee_minor=setup,
        deposit_months=deposit,
        start_date=start or min(s for s, _ in seats),
        end_date=end,
        status=status,
        discount_pct=Decimal(discount),
        seats=tuple(SeatSpan(s, e) for s, e in seats),
        add_ons=add_ons,
        included=included,
    )


def seat_total(f: LeaseFacts, month: Month) -> int:
    return sum(x.amount_minor for x in calc.seat_lines(f, month))


spans = st.tuples(st.dates(date(2030, 11, 1), date(2031, 4, 30)), st.integers(0, 120), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(spans, min_size=1, max_size=8),
    st.integers(1, 10_000_000),
    st.sampled_from([(2031, 1), (2031, 2), (2032, 2), (2030, 12), (2031, 3)]),
)
def test_seat_lines_match_the_day_walking_oracle(raw: list[tuple[date, int, bool]], price: int, ym: tuple[int, int]) -> None:
    seats = [(s, None if open_ else s + timedelta(days=n)) for s, n, open_ in raw]
    f = facts(seats, price=price)
    assert seat_total(f, Month(*ym)) == oracle.seat_charge(price, seats, *ym)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9), st.sampled_from(["0.12", "0.0825", "0.10", "0", "0.075"]))
def test_tax_per_line_matches_oracle(amount: int, rate: str) -> None:
    assert calc.with_tax([Line("seat", "x", 1, amount, amount)], Decimal(rate))[0].tax_minor == oracle.tax(amount, rate)


def test_month_arithmetic_across_year_rollover_and_leap_years() -> None:
    assert Month(2031, 12).next() == Month(2032, 1)
    assert Month(2032, 1).prev() == Month(2031, 12)
    assert Month(2032, 2).days == 29
    assert Month(2031, 2).days == 28
    assert Month(2100, 2).days == 28
    assert Month(2000, 2).days == 29


def test_one_day_lease_on_the_last_day_of_a_leap_february() -> None:
    f = facts([(date(2032, 2, 29), date(2032, 2, 29))], price=2_900_000)
    (line,) = calc.seat_lines(f, Month(2032, 2))
    assert (line.days, line.period_days, line.amount_minor) == (1, 29, 100_000)


def test_seats_with_identical_spans_are_grouped_and_others_are_not() -> None:
    f = facts([(date(2031, 1, 1), None), (date(2031, 1, 1), None), (date(2031, 1, 10), date(2031, 1, 20))])
    lines = calc.seat_lines(f, Month(2031, 1))
    assert [(x.quantity, x.days) for x in lines] == [(2, 31), (1, 11)]
    assert lines[1].amount_minor == oracle.rhu(1_500_000 * 11, 31)


def test_discount_setup_deposit_and_inclusions() -> None:
    f = facts(
        [(date(2031, 1, 16), None)] * 2,
        setup=250_000,
        deposit=1,
        discount="10",
        add_ons=(
            AddOnFacts("mon", "Extra monitor", "monthly", 50_000, 3),
            AddOnFacts("ups", "UPS", "one_time", 120_000, 1),
        ),
        included=(IncludedFacts("pc", "Desktop PC", 1),),
    )
    lines = calc.lease_lines(f, Month(2031, 1), Billed(), [])
    by = {(x.kind): x for x in lines}
    seats = oracle.rhu(1_500_000 * 2 * 16, 31)
    addon = oracle.rhu(50_000 * 3 * 16, 31)
    assert by["seat"].amount_minor == seats
    assert by["addon"].amount_minor == addon
    assert by["discount"].amount_minor == -oracle.rhu(seats + addon, 10)
    assert by["inclusion"].amount_minor == 0
    assert by["inclusion"].quantity == 2
    assert by["setup_fee"].amount_minor == 500_000
    assert by["addon_one_time"].amount_minor == 120_000
    assert by["deposit"].amount_minor == 3_000_000
    taxed = {x.kind: x for x in calc.with_tax(lines, Decimal("0.12"))}
    assert taxed["deposit"].tax_minor == 0
    assert taxed["seat"].tax_minor == oracle.tax(seats, "0.12")
    # the next month: no one-offs again
    billed = calc.billed_from_rows(
        [
            {
                "lease_id": f.lease_id,
                "kind": x.kind,
                "service_month": x.service_month,
                "amount_minor": x.amount_minor,
                "units": x.units,
            }
            for x in lines
        ]
    )
    feb = calc.lease_lines(f, Month(2031, 2), billed[f.lease_id], [Month(2031, 1)])
    assert {x.kind for x in feb} == {"seat", "inclusion", "addon", "discount"}
    assert not any(x.trueup for x in feb)


def test_back_dated_end_before_an_invoiced_month_is_credited_by_trueup() -> None:
    jan, feb, mar = Month(2031, 1), Month(2031, 2), Month(2031, 3)
    before = facts([(date(2031, 1, 1), None)])
    billed = Billed()
    for m in (jan, feb):
        for x in calc.seat_lines(before, m):
            billed.monthly[(m.first, "seat")] = (x.amount_minor, x.units)
    after = LeaseFacts(
        **{**before.__dict__, "end_date": date(2031, 1, 20), "seats": (SeatSpan(date(2031, 1, 1), date(2031, 1, 20)),)}
    )
    lines = calc.lease_lines(after, mar, billed, [jan, feb])
    assert [x for x in lines if not x.trueup] == []
    ups = {x.service_month: x for x in lines if x.trueup}
    assert ups[jan.first].amount_minor == oracle.rhu(1_500_000 * 20, 31) - 1_500_000
    assert ups[jan.first].units == -11
    assert ups[feb.first].amount_minor == -1_500_000


def test_seat_added_and_released_in_the_same_month() -> None:
    f = facts([(date(2031, 3, 1), None), (date(2031, 3, 5), date(2031, 3, 9))], start=date(2031, 3, 1))
    assert seat_total(f, Month(2031, 3)) == 1_500_000 + oracle.rhu(1_500_000 * 5, 31)


def test_cancelled_or_pending_leases_bill_nothing() -> None:
    for status in ("cancelled", "pending_approval"):
        assert calc.lease_lines(facts([(date(2031, 1, 1), None)], status=status), Month(2031, 1), Billed(), []) == []


def test_deposit_refund_once_the_lease_is_over() -> None:
    f = facts([(date(2031, 1, 1), date(2031, 1, 31))], end=date(2031, 1, 31), deposit=1)
    b = Billed(deposit_minor=1_500_000, setup_billed=True)
    assert calc.deposit_refund_due(f, Month(2031, 1), b) == 0
    assert calc.deposit_refund_due(f, Month(2031, 2), b) == 1_500_000
    b.deposit_refunded = True
    assert calc.deposit_refund_due(f, Month(2031, 2), b) == 0


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 10**9),
    st.integers(0, 500),
    st.integers(0, 31),
    st.integers(28, 31),
    st.integers(-(10**12), 10**12),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_fast_integer_rounding_equals_the_slow_oracle(
    price: int, qty: int, days: int, period_days: int, amount: int, rate: Decimal
) -> None:
    from domain.rules import money
    from tests.rules import money_oracle

    # the billing engine's proration and tax are the money rules (billing/calc.py imports them)
    assert calc.prorate is money.prorate
    assert money.prorate(price, qty, days, period_days) == money_oracle.prorate(price, qty, days, period_days)
    assert money.tax_on(amount, rate) == money_oracle.tax_on(amount, rate)


def test_money_in_statements_follows_the_currency_exponent() -> None:
    from billing.aging import bucket_for
    from billing.statement_render import major

    assert major(45_000, "JPY") == "45000"
    assert major(123_457, "USD") == "1234.57"
    assert major(-5, "PHP") == "-0.05"
    assert [bucket_for(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "current",
        "1_30",
        "1_30",
        "31_60",
        "31_60",
        "61_90",
        "61_90",
        "over_90",
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(spans, min_size=1, max_size=5),
    st.lists(spans, min_size=0, max_size=5),
    st.sampled_from(["0", "7.5", "10"]),
    st.sampled_from(["0", "12.5"]),
)
def test_trueups_bring_every_invoiced_month_to_what_it_should_have_been(
    old_raw: list[tuple[date, int, bool]], new_raw: list[tuple[date, int, bool]], d_old: str, d_new: str
) -> None:
    """Whatever changed after invoicing, billed + true-ups == what the lease now says, month by month."""

    def seats(raw: list[tuple[date, int, bool]]) -> list[tuple[date, date | None]]:
        return [(s, None if open_ else s + timedelta(days=n)) for s, n, open_ in raw]

    months = [Month(2030, 11), Month(2030, 12), Month(2031, 1), Month(2031, 2)]
    start = date(2030, 11, 1)
    old = facts(seats(old_raw), start=start, discount=d_old)
    new = LeaseFacts(
        **{**old.__dict__, "discount_pct": Decimal(d_new), "seats": tuple(SeatSpan(s, e) for s, e in seats(new_raw))}
    )
    billed = Billed()
    for m in months:
        for kind, (amount, units) in calc.expected_monthly(old, m).items():
            billed.monthly[(m.first, kind)] = (amount, units)
    ups = calc.trueup_lines(new, months, billed)
    for m in months:
        for kind, (amount, _units) in calc.expected_monthly(new, m).items():
            delta = sum(x.amount_minor for x in ups if x.service_month == m.first and x.kind == kind)
            assert billed.monthly[(m.first, kind)][0] + delta == amount
    assert (
        calc.trueup_lines(
            new,
            months,
            calc.billed_from_rows(
                [
                    {"lease_id": new.lease_id, "kind": k, "service_month": m.first, "amount_minor": a, "units": u}
                    for m in months
                    for k, (a, u) in calc.expected_monthly(new, m).items()
                ]
            ).get(new.lease_id, Billed()),
        )
        == []
    )


# --- changes during a term: dated add-ons and seat moves (issue 11) ---
addon_rows = st.lists(
    st.tuples(st.integers(1, 50), st.integers(0, 150), st.integers(0, 60), st.booleans()), min_size=1, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(
    addon_rows,
    st.integers(1, 2_000_000),
    st.dates(date(2030, 12, 1), date(2031, 2, 28)),
    st.one_of(st.none(), st.integers(0, 150)),
    st.sampled_from([(2031, 1), (2031, 2), (2030, 12), (2031, 3)]),
)
def test_dated_add_on_lines_match_the_day_walking_oracle(
    raw: list[tuple[int, int, int, bool]], price: int, lease_start: date, term: int | None, ym: tuple[int, int]
) -> None:
    """Successive dated rows of one add-on (a quantity changed or removed from a date) are each
    prorated over their own days of the month within the lease's term."""
    lease_end = None if term is None else lease_start + timedelta(days=term)
    rows: list[tuple[int, date | None, date | None]] = []
    day = lease_start
    for i, (qty, gap, length, open_) in enumerate(raw):
        start = None if i == 0 and gap % 2 == 0 else day + timedelta(days=gap % 20)
        first = start or lease_start
        last = i == len(raw) - 1
        end = None if last and open_ else first + timedelta(days=length)
        rows.append((qty, start, end))
        if end is None:
            break
        day = end + timedelta(days=1)
    f = facts(
        [(lease_start, lease_end)],
        start=lease_start,
        end=lease_end,
        add_ons=tuple(AddOnFacts("monitor", "Monitor", "monthly", price, q, s, e) for q, s, e in rows),
    )
    got = sum(x.amount_minor for x in calc.addon_lines(f, Month(*ym)))
    assert got == oracle.addon_charge(price, rows, lease_start, lease_end, *ym)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(date(2030, 12, 1), date(2031, 1, 31)),
    st.lists(st.integers(1, 40), min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(0, 120)),
    st.integers(1, 5_000_000),
    st.sampled_from([(2031, 1), (2031, 2), (2030, 12), (2031, 3)]),
)
def test_a_moved_seat_bills_like_a_seat_that_never_moved(
    start: date, steps: list[int], term: int | None, price: int, ym: tuple[int, int]
) -> None:
    """A seat moved (once or along a chain) bills exactly what the unmoved seat would: the same
    seat-days, and not one rounding unit more."""
    end = None if term is None else start + timedelta(days=term + sum(steps))
    spans, day = [], start
    for n in steps:
        nxt = day + timedelta(days=n)
        spans.append(SeatSpan(day, nxt - timedelta(days=1), moved_in=day != start, moved_out=True))
        day = nxt
    spans.append(SeatSpan(day, end, moved_in=True))
    moved = facts([], start=start, end=end, price=price)
    moved = LeaseFacts(**{**moved.__dict__, "seats": tuple(calc.join_moves(spans))})
    still = facts([(start, end)], start=start, end=end, price=price)
    month = Month(*ym)
    assert seat_total(moved, month) == seat_total(still, month) == oracle.seat_charge(price, [(start, end)], *ym)
    assert sum(x.units for x in calc.seat_lines(moved, month)) == oracle.moved_seat_days([(s.start, s.end) for s in spans], *ym)
