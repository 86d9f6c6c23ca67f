"""Money rules against Fraction and Decimal oracles (PRODUCT.md rule 4)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.money import apply_discount, format_money, prorate, round_half_up, tax_on


def _decimal_round(value: Fraction) -> int:
    with localcontext() as ctx:
        ctx.prec = 80
        d = Decimal(value.numerator) / Decimal(value.denominator)
        return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(st.fractions(max_denominator=1000).filter(lambda f: abs(f) < 10**12))
def test_round_half_up_matches_decimal(value: Fraction) -> None:
    assert round_half_up(value) == _decimal_round(value)


@given(st.integers(-(10**12), 10**12))
def test_halves_go_away_from_zero(n: int) -> None:
    half = Fraction(2 * n + 1, 2)
    expected = n + 1 if half > 0 else n
    assert round_half_up(half) == expected


@given(
    st.integers(0, 10**9),
    st.integers(1, 500),
    st.integers(28, 31).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))),
)
def test_prorate_is_round_half_up_of_the_exact_share(price: int, qty: int, days_and_period: tuple[int, int]) -> None:
    days, period = days_and_period
    got = prorate(price, qty, days, period)
    assert got == _decimal_round(Fraction(price * qty * days, period))
    # never off by more than half a minor unit from the exact share
    assert abs(Fraction(got) - Fraction(price * qty * days, period)) <= Fraction(1, 2)


def test_prorate_examples() -> None:
    assert prorate(1_500_000, 1, 31, 31) == 1_500_000
    assert prorate(1_500_000, 1, 0, 30) == 0
    assert prorate(100, 1, 1, 8) == 13  # 12.5 rounds up
    assert prorate(1, 1, 1, 2) == 1
    with pytest.raises(ValueError, match="period_days"):
        prorate(100, 1, 1, 0)


@given(st.integers(-(10**12), 10**12), st.decimals(min_value=0, max_value=1, places=4))
def test_tax_on_matches_decimal(amount: int, rate: Decimal) -> None:
    expected = int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert tax_on(amount, rate) == expected


def test_tax_examples() -> None:
    assert tax_on(1_500_000, Decimal("0.12")) == 180_000
    assert tax_on(5, Decimal("0.1")) == 1  # 0.5 rounds up
    assert tax_on(-5, Decimal("0.1")) == -1  # a credit rounds away from zero too


@given(st.integers(0, 10**12), st.decimals(min_value=0, max_value=100, places=2))
def test_discount_is_negative_share(amount: int, pct: Decimal) -> None:
    got = apply_discount(amount, pct)
    assert got <= 0
    assert -got == int((Decimal(amount) * pct / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_format_money_uses_the_currency_exponent() -> None:
    assert format_money(123456, "PHP") == "PHP 1,234.56"
    assert format_money(1234, "JPY") == "JPY 1,234"
    assert format_money(1234, "KWD") == "KWD 1.234"
    # zero- and three-decimal currencies beyond the common ones (West African franc, Tunisian dinar)
    assert format_money(1234, "XOF") == "XOF 1,234"
    assert format_money(1234, "TND") == "TND 1.234"
    assert format_money(1234, "PYG") == "PYG 1,234"


@given(
    st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**12),
    st.integers(-(10**12), 10**12),
    st.decimals(min_value=0, max_value=100, places=2),
)
def test_the_fast_rules_are_the_slow_oracle(value: Fraction, amount: int, pct: Decimal) -> None:
    """domain/rules/money.py rounds in integers for speed; tests/rules/money_oracle.py in Fractions."""
    from tests.rules import money_oracle

    assert round_half_up(value) == money_oracle.round_half_up(value)
    assert apply_discount(amount, pct) == money_oracle.apply_discount(amount, pct)
    assert tax_on(amount, pct / 100) == money_oracle.tax_on(amount, pct / 100)
