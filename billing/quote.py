"""The price of a lease that does not exist yet (the admin's booking preview, ``POST /v1/quotes``
and a proposal's price and PDF): its first invoice line by line, then a full month, computed by
billing's own pure line math (billing.calc) -- the same rule as the invoices, not a copy of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from billing import calc
from billing.facts import AddOnFacts, Billed, IncludedFacts, LeaseFacts, Line, Month, SeatSpan
from domain.errors import ValidationFailed
from domain.leasing.queries import BookingPreview, preview_booking
from domain.leasing.schemas import LeaseCreate
from domain.models import Inclusion, Plan, Site
from domain.models.lease import LeaseStatus
from domain.services.catalog import site_today
from domain.services.plan_prices import PlanTerms


@dataclass
class Quote:
    currency: str
    period: str
    lines: list[Line]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    deposit_minor: int
    next_month_minor: int | None  # the full month after the first, before tax (None: the lease ends first)
    next_period: str | None = None
    next_lines: list[Line] | None = None
    next_tax_minor: int = 0
    seats: int = 0


def lease_facts(
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
) -> LeaseFacts:
    """The billing facts of a lease that does not exist yet. ``terms``: the prices the lease copies
    (the plan's in force on its start date, or a proposed lease's own); without them, the plan's as
    created."""
    t = terms or PlanTerms(plan.monthly_price_minor, plan.setup_fee_minor, plan.deposit_months)
    return LeaseFacts(
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


def first_invoice(site: Site, facts: LeaseFacts) -> Quote:
    """The first invoice of such a lease (``lease_facts``) as a billing run would build it, and the
    full month after."""
    start, end, seats = facts.start_date, facts.end_date, len(facts.seats)
    rate = Decimal(site.tax_rate)
    month = Month.of(start)
    lines = calc.with_tax(calc.lease_lines(facts, month, Billed(), []), rate)
    totals = calc.totals(lines)
    deposit = sum(x.amount_minor for x in lines if x.kind == "deposit")
    following = month.next()
    next_month = next_period = next_lines = None
    next_tax = 0
    if end is None or end >= following.first:
        expected = calc.expected_monthly(facts, following)
        next_month = sum(amount for amount, _ in expected.values())
        # the second invoice: one-offs and the deposit were billed on the first, nothing to true up
        billed = Billed(setup_billed=True, deposit_minor=deposit)
        full = calc.with_tax(calc.lease_lines(facts, following, billed, []), rate)
        next_period, next_lines = str(following), [x for x in full if x.kind != "inclusion"]
        next_tax = calc.totals(full).tax_minor
    return Quote(
        currency=site.currency,
        period=str(month),
        lines=[x for x in lines if x.kind != "inclusion"],
        subtotal_minor=totals.subtotal_minor,
        tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        deposit_minor=deposit,
        next_month_minor=next_month,
        next_period=next_period,
        next_lines=next_lines,
        next_tax_minor=next_tax,
        seats=seats,
    )


def price_preview(p: BookingPreview, body: LeaseCreate) -> Quote:
    """The quote of a checked booking (``preview_booking``'s answer for ``body``)."""
    facts = lease_facts(
        p.plan,
        seats=p.seats,
        start=body.start_date,
        end=body.end_date,
        add_ons=p.add_ons,
        included=p.included,
        discount_pct=body.discount_pct,
        shift=p.shift.code,
        terms=p.terms,
        escalation_pct=body.escalation_pct,
        price_steps=tuple(sorted((s.effective_date, s.monthly_price_minor) for s in body.price_steps)),
    )
    return first_invoice(p.site, facts)


# --- the API's shape of a quote (POST /v1/quotes, a proposal's price) ---


class QuoteLine(BaseModel):
    kind: str
    description: str
    quantity: int
    unit_price_minor: int
    days: int | None
    period_days: int | None
    amount_minor: int
    tax_minor: int


class QuoteInvoice(BaseModel):
    period: str
    lines: list[QuoteLine]
    subtotal_minor: int
    tax_minor: int
    total_minor: int


class QuoteOut(BaseModel):
    currency: str
    seats: int
    free_seats: int | None = Field(description="seats free now for that shift and dates (a quote; null in a proposal's price)")
    needs_approval: bool = Field(description="its discount is above the approval threshold: it waits for finance approval")
    deposit_minor: int
    first_invoice: QuoteInvoice
    full_month: QuoteInvoice | None


def _lines(lines: list[Line]) -> list[QuoteLine]:
    return [
        QuoteLine(
            kind=x.kind,
            description=x.description,
            quantity=x.quantity,
            unit_price_minor=x.unit_price_minor,
            days=x.days,
            period_days=x.period_days,
            amount_minor=x.amount_minor,
            tax_minor=x.tax_minor,
        )
        for x in lines
    ]


def quote_out(q: Quote, *, seats: int, free: int | None, needs_approval: bool) -> QuoteOut:
    full = None
    if q.next_month_minor is not None and q.next_period is not None and q.next_lines is not None:
        full = QuoteInvoice(
            period=q.next_period,
            lines=_lines(q.next_lines),
            subtotal_minor=q.next_month_minor,
            tax_minor=q.next_tax_minor,
            total_minor=q.next_month_minor + q.next_tax_minor,
        )
    return QuoteOut(
        currency=q.currency,
        seats=seats,
        free_seats=free,
        needs_approval=needs_approval,
        deposit_minor=q.deposit_minor,
        first_invoice=QuoteInvoice(
            period=q.period,
            lines=_lines(q.lines),
            subtotal_minor=q.subtotal_minor,
            tax_minor=q.tax_minor,
            total_minor=q.total_minor,
        ),
        full_month=full,
    )


async def quote_booking(
    session: AsyncSession, body: LeaseCreate, *, discount_threshold_pct: Decimal, is_staff: bool = True
) -> QuoteOut:
    """``POST /v1/quotes``: what booking ``body`` now would cost; writes nothing. The seats must be
    free now and a client's lease may not start in the past (a refusal names the field, as the
    booking's would)."""
    p = await preview_booking(session, body)
    if not is_staff and body.start_date < site_today(p.site):
        raise ValidationFailed("a lease cannot start in the past", field="start_date")
    q = price_preview(p, body)
    return quote_out(q, seats=p.seats, free=p.free, needs_approval=body.discount_pct > discount_threshold_pct)
