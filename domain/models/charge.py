from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class ChargeKind(StrEnum):
    CANCELLATION_FEE = "cancellation_fee"
    TERMINATION_FEE = "termination_fee"  # staff ending a lease early (issue 11)


class OneOffCharge(IdMixin, TimestampMixin, Base):
    """A one-off amount a client owes (a cancellation fee), billed as a line of the client's next
    invoice at the charge's site (billing/charges.py) unless staff waive it first."""

    __tablename__ = "one_off_charges"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount"),
        CheckConstraint(one_of("kind", ChargeKind), name="kind"),
        CheckConstraint("waived_at IS NULL OR invoice_id IS NULL", name="waived_or_billed"),
        # one fee of each kind per lease, however often a request is retried
        UniqueConstraint("lease_id", "kind"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # the site-local date the charge arose: the first invoice for a period ending on or after it bills it
    charge_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    waived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    waived_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    waive_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)
