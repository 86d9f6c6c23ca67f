"""Slow, obviously-correct money rules (PRODUCT.md rule 4) in exact fractions: what the fast
integer rules of domain/rules/money.py are checked against."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round to the nearest integer, halves away from zero."""
    frac = Fraction(value)
    sign = -1 if frac < 0 else 1
    frac = abs(frac)
    whole, rest = divmod(frac.numerator, frac.denominator)
    if 2 * rest >= frac.denominator:
        whole += 1
    return sign * whole


def prorate(unit_price_minor: int, quantity: int, days: int, period_days: int) -> int:
    return round_half_up(Fraction(unit_price_minor * quantity * days, period_days))


def tax_on(amount_minor: int, rate: Decimal | Fraction) -> int:
    return round_half_up(Fraction(amount_minor) * Fraction(rate))


def apply_discount(amount_minor: int, discount_pct: Decimal) -> int:
    return -round_half_up(Fraction(amount_minor) * Fraction(discount_pct) / 100)
