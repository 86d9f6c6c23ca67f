"""The price preview of a booking: the lease's first invoice, computed by billing's own pure line
math (billing.calc) for a lease that does not exist yet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from billing import calc
from billing.facts import AddOnFacts, Billed, IncludedFacts, LeaseFacts, Month, SeatSpan
from domain.models import Inclusion, Plan, Site
from domain.models.lease import LeaseStatus
from domain.services.plan_prices import PlanTerms


@dataclass
class Quote:
    currency: str
    period: str
    lines: list[Any]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    deposit_minor: int
    next_month_minor: int | None


def first_invoice(
    site: Site,
    plan: Plan,
    *,
    seats: int,
    start: date,
    end: date | None,
    add_ons: list[tuple[Inclusion, int]],
    included: list[Inclusion],
    discount_pct: Decimal,
    shift: str,
    terms: PlanTerms | None = None,
    escalation_pct: Decimal | None = None,
    price_steps: tuple[tuple[date, int], ...] = (),
) -> Quote:
    """`terms`: the plan's prices in force on the start date, which the lease would copy (issue 11)."""
    t = terms or PlanTerms(plan.monthly_price_minor, plan.setup_fee_minor, plan.deposit_months)
    facts = LeaseFacts(
        lease_id=uuid.UUID(int=0),
        plan_name=plan.name,
        shift=shift,
        monthly_price_minor=t.monthly_price_minor,
        setup_fee_minor=t.setup_fee_minor,
        deposit_months=t.deposit_months,
        start_date=start,
        end_date=end,
        status=LeaseStatus.CONFIRMED,
        discount_pct=discount_pct,
        seats=tuple(SeatSpan(start, end) for _ in range(seats)),
        add_ons=tuple(
            AddOnFacts(i.code, i.name, i.billing, t.add_on_prices.get(i.code, i.unit_price_minor), q) for i, q in add_ons
        ),
        included=tuple(IncludedFacts(i.code, i.name, i.quantity_per_seat) for i in included),
        price_steps=price_steps,
        escalation_pct=escalation_pct or None,
    )
    month = Month.of(start)
    lines = calc.with_tax(calc.lease_lines(facts, month, Billed(), []), Decimal(site.tax_rate))
    totals = calc.totals(lines)
    following = month.next()
    next_month = None
    if end is None or end >= following.first:
        expected = calc.expected_monthly(facts, following)
        next_month = sum(amount for amount, _ in expected.values())
    return Quote(
        currency=site.currency,
        period=str(month),
        lines=[x for x in lines if x.kind != "inclusion"],
        subtotal_minor=totals.subtotal_minor,
        tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        deposit_minor=sum(x.amount_minor for x in lines if x.kind == "deposit"),
        next_month_minor=next_month,
    )
