"""Tax treatment per line (issue 12), pure: the one rule for the rate applied, lines recording it, and a
partial credit taxed at the credited invoice's own rates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import calc
from billing.facts import Line
from domain.rules.money import line_tax_rate
from tests.billing import oracle


def test_the_rate_a_treatment_applies() -> None:
    assert line_tax_rate("standard", Decimal("0.12")) == Decimal("0.12")
    assert line_tax_rate("zero_rated", Decimal("0.12")) == 0
    assert line_tax_rate("exempt", Decimal("0.12")) == 0
    with pytest.raises(ValueError, match="treatment"):
        line_tax_rate("reduced", Decimal("0.12"))


def test_lines_record_their_treatment_and_rate() -> None:
    lines = [Line("seat", "s", 1, 100_000, 100_000), Line("deposit", "d", 1, 50_000, 50_000)]
    std = calc.with_tax(lines, Decimal("0.12"))
    assert [(x.tax_treatment, x.tax_rate, x.tax_minor) for x in std] == [
        ("standard", Decimal("0.12"), 12_000),
        ("standard", Decimal(0), 0),  # a deposit is not a sale
    ]
    exempt = calc.with_tax(lines, Decimal("0.12"), "exempt")
    assert [(x.tax_treatment, x.tax_rate, x.tax_minor) for x in exempt] == [("exempt", 0, 0), ("exempt", 0, 0)]


@given(st.integers(1, 10**9), st.sampled_from(["0.12", "0.07", "0.2", "0.125"]))
def test_a_credit_of_a_one_rate_invoice_is_taxed_at_that_rate(amount: int, rate: str) -> None:
    lines = [(5_000_000, Decimal(rate)), (30_000, Decimal(rate)), (0, None)]
    assert calc.credit_tax(amount, lines) == oracle.tax(amount, rate)


def test_a_credit_of_a_mixed_invoice_takes_its_tax_in_proportion() -> None:
    # 100,000 at 12% (12,000) and 100,000 exempt: half the invoice's taxed amount carries its tax
    mixed = [(100_000, Decimal("0.12")), (100_000, Decimal(0))]
    assert calc.credit_tax(50_000, mixed) == 3_000
    assert calc.credit_tax(50_000, [(100_000, Decimal(0))]) == 0
    assert calc.credit_tax(50_000, []) == 0
