"""Payments recorded here, pushed to Stripe (issue 12): an invoice that lives in Stripe and was
settled by a bank transfer, a cheque, cash or the client's credit balance is marked paid out of band
there by the worker, from this row (ARCHITECTURE.md convention 8)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, one_of


class PaymentSyncState(StrEnum):
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    # the invoice was no longer settled when the worker came to it (a cheque bounced first)
    CANCELLED = "cancelled"


class StripePaymentSync(Base):
    __tablename__ = "stripe_payment_syncs"
    __table_args__ = (
        CheckConstraint(one_of("state", PaymentSyncState), name="state"),
        Index("ix_stripe_payment_syncs_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
