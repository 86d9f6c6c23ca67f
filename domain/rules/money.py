"""Money rules: integer minor units, decimal rates, round half up (PRODUCT.md rule 4)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# ISO 4217 minor-unit exponents that are not 2
# ISO 4217 minor-unit exponents that are not 2, for the currencies in CURRENCIES below
_EXPONENTS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


# ISO 4217 active currency codes (list one, as published by SIX, 2025), without the fund codes
# (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals (XAG, XAU, XPD, XPT), the IMF's
# XDR and XSU, the bond-market units (XBA-XBD), the test code XTS and "no currency" XXX:
# the currencies a site can bill in.
# fmt: off
CURRENCIES: tuple[str, ...] = (
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD",
    "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC",
    "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG",
)
# fmt: on
_CURRENCY_SET = frozenset(CURRENCIES)


def is_currency(code: str) -> bool:
    """An active ISO 4217 code, upper case as written in the standard."""
    return code in _CURRENCY_SET


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def div_half_up(numerator: int, denominator: int) -> int:
    """`round_half_up(numerator / denominator)` in integers: halves away from zero. No Fraction or
    Decimal per call: a billing run computes hundreds of thousands of these (tests/rules/money_oracle.py
    holds the slow, obviously-correct version the tests compare this with)."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round to the nearest integer, halves away from zero."""
    frac = Fraction(value)
    return div_half_up(frac.numerator, frac.denominator)


def prorate(unit_price_minor: int, quantity: int, days: int, period_days: int) -> int:
    """Rule 4: `round_half_up(unit_price × quantity × d / D)`, exactly, in minor units."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    return div_half_up(unit_price_minor * quantity * days, period_days)


def tax_on(amount_minor: int, rate: Decimal | Fraction) -> int:
    """Rule 4: the tax of one line, `round_half_up(line × rate)`."""
    r = Fraction(rate)
    return div_half_up(amount_minor * r.numerator, r.denominator)


def apply_discount(amount_minor: int, discount_pct: Decimal) -> int:
    """The (negative) discount on an amount, rounded half up."""
    r = Fraction(discount_pct)
    return -div_half_up(amount_minor * r.numerator, r.denominator * 100)


def format_amount(amount_minor: int, currency: str, *, grouping: bool = True) -> str:
    """The one way our documents write an amount: in the currency's major units with exactly its
    decimal places (JPY none, KWD three), thousands grouped by commas (`grouping=False` for files a
    machine reads back, such as CSV), a minus sign in front of a negative amount."""
    exp = minor_unit_exponent(currency)
    value = (Decimal(amount_minor) / (Decimal(10) ** exp)).quantize(Decimal(1) / (Decimal(10) ** exp), rounding=ROUND_HALF_UP)
    return f"{value:,}" if grouping else f"{value}"


def format_money(amount_minor: int, currency: str) -> str:
    return f"{currency.upper()} {format_amount(amount_minor, currency)}"


# --- tax treatment per client and line (issue 12) ---
# a client (and each line) is taxed at its site's standard rate, or zero-rated, or exempt
TAX_TREATMENTS: tuple[str, ...] = ("standard", "zero_rated", "exempt")


def line_tax_rate(treatment: str, site_rate: Decimal) -> Decimal:
    """The one rule for the rate a line is taxed at: the site's rate when standard, none when the
    line is zero-rated or exempt (a PEZA-registered client, an export of services)."""
    if treatment not in TAX_TREATMENTS:
        raise ValueError(f"unknown tax treatment {treatment!r}")
    return Decimal(site_rate) if treatment == "standard" else Decimal(0)
