"""Issue 11: a plan's dated prices, in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from domain.schemas import INTEGRAL, Code, Money, Omittable, SafeDate, Strict

Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*\S[^\x00]*$")]


class PlanPriceCreate(Strict):
    """The plan's prices from `effective_from` on (today or later on the site's calendar). A field
    left out keeps the value in force on that date; add-ons not named keep theirs."""

    effective_from: SafeDate
    monthly_price_minor: Money
    setup_fee_minor: Omittable[Money] = None
    deposit_months: Omittable[Annotated[int, INTEGRAL, Field(strict=True, ge=0, le=12)]] = None
    add_on_prices: dict[Code, Money] = Field(default_factory=dict, max_length=50)
    reason: Omittable[Reason] = None


class PlanPrice(BaseModel):
    """One row of a plan's price history; `effective_from` null is the price the plan was created
    with, in force before the first dated price."""

    plan_id: uuid.UUID
    effective_from: date | None
    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    add_on_prices: dict[str, int]
    currency: str
    reason: str | None = None
    created_by: uuid.UUID | None = None
    created_at: datetime | None = None


class PlanPriceHistory(BaseModel):
    items: list[PlanPrice]
    next_cursor: str | None = None
