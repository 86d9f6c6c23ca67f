from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class Plan(IdMixin, TimestampMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    monthly_price_minor: Mapped[int] = mapped_column(BigInteger)
    setup_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    deposit_months: Mapped[int] = mapped_column(Integer, default=0)
    # --- terms (issue 11): the notice period a new lease of this plan copies unless staff set one
    notice_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


class InclusionKind(StrEnum):
    POWER = "power"
    INTERNET = "internet"
    DEVICE = "device"
    FACILITY = "facility"
    SOFTWARE = "software"


class InclusionBilling(StrEnum):
    """Bundled with every seat, billed monthly per unit, or billed once per unit."""

    INCLUDED = "included"
    MONTHLY = "monthly"
    ONE_TIME = "one_time"


class Inclusion(IdMixin, Base):
    """Something bundled with a seat of a plan, or an add-on billed per unit."""

    __tablename__ = "inclusions"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint(one_of("kind", InclusionKind), name="kind"),
        CheckConstraint(one_of("billing", InclusionBilling), name="billing"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    billing: Mapped[str] = mapped_column(String(16))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # for devices: the inventory kind a seat receives (pc, monitor, headset) and how many per seat
    device_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    quantity_per_seat: Mapped[int] = mapped_column(Integer, default=1)
