"""Issue 11: a plan's dated prices, in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from domain.schemas import INTEGRAL, Code, Money, Omittable, SafeDate, Strict

Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*\S[^\x00]*$")]


class AddOnPriceIn(Strict):
    code: Code
    unit_price_minor: Money


class PlanPriceCreate(Strict):
    """The plan's prices from `effective_from` on (today or later on the site's calendar). A field
    left out keeps the value in force on that date; add-ons not named keep theirs."""

    effective_from: SafeDate
    monthly_price_minor: Money
    setup_fee_minor: Omittable[Money] = None
    deposit_months: Omittable[Annotated[int, Field(strict=True, ge=0, le=12), INTEGRAL]] = None
    add_on_prices: list[AddOnPriceIn] = Field(default_factory=list, max_length=50)
    reason: Omittable[Reason] = None

    @field_validator("add_on_prices")
    @classmethod
    def _each_code_once(cls, v: list[AddOnPriceIn]) -> list[AddOnPriceIn]:
        if len({a.code for a in v}) != len(v):
            raise ValueError("each add-on code once")
        return v

    def add_on_map(self) -> dict[str, int]:
        return {a.code: a.unit_price_minor for a in self.add_on_prices}


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
