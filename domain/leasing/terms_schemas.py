"""Issue 11: a lease's own commercial terms, in and out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from domain.schemas import INTEGRAL, Money, Omittable, Percent, SafeDate, Strict
from domain.services.plan_price_schemas import Reason

NoticeDays = Annotated[int, Field(strict=True, ge=0, le=365), INTEGRAL]


class PriceStepIn(Strict):
    """From `effective_date` on, the lease's monthly seat price is `monthly_price_minor`."""

    effective_date: SafeDate
    monthly_price_minor: Money
    reason: Omittable[Reason] = None


class EscalationIn(Strict):
    """A yearly raise on each anniversary of the lease's start (`null`: none)."""

    escalation_pct: Percent | None
    reason: Omittable[Reason] = None


class PriceStep(BaseModel):
    effective_date: date
    monthly_price_minor: int
    reason: str | None = None


class LeaseTerms(BaseModel):
    """What the lease was booked at and carries: billing reads these, never the plan."""

    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    notice_days: int
    discount_pct: str
    escalation_pct: str | None
    price_steps: list[PriceStep]
    currency: str
    # the seat price in force on the site's today (or the start, for a lease not started yet)
    current_monthly_price_minor: int
