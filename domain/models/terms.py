"""Issue 11, terms that hold: a plan's dated price list and a lease's dated seat prices."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin


class PlanPrice(IdMixin, TimestampMixin, Base):
    """A plan's prices from a date on: what a lease starting on or after `effective_from` (and
    before the next row's) copies when it is booked. Rows are never edited; the plan's own price
    columns are its price before the first row (as created)."""

    __tablename__ = "plan_prices"
    __table_args__ = (
        UniqueConstraint("plan_id", "effective_from"),
        CheckConstraint("monthly_price_minor >= 0 AND setup_fee_minor >= 0 AND deposit_months >= 0", name="amounts"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    monthly_price_minor: Mapped[int] = mapped_column(BigInteger)
    setup_fee_minor: Mapped[int] = mapped_column(BigInteger)
    deposit_months: Mapped[int] = mapped_column(Integer)
    # the unit price of every priced add-on (monthly or one-time inclusion) of the plan, by code
    add_on_prices: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class LeasePriceStep(IdMixin, TimestampMixin, Base):
    """A lease's monthly seat price from a date on (a negotiated schedule, a renewal at a new
    price); a yearly escalation continues from it (domain/rules/pricing.py)."""

    __tablename__ = "lease_price_steps"
    __table_args__ = (
        UniqueConstraint("lease_id", "effective_date"),
        CheckConstraint("monthly_price_minor >= 0", name="price"),
    )

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    monthly_price_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
