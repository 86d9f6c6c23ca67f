"""Downtime credits (issue 15): the seats an outage ticket affected, and the service credit proposed
for each lease whose leased hours it cost (billing/downtime.py computes and raises them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, one_of


class TicketAffectedSeat(Base):
    """A seat an outage ticket took down besides its own seat (which counts without a row)."""

    __tablename__ = "ticket_affected_seats"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"), primary_key=True, index=True)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    added_by: Mapped[str] = mapped_column(String(320))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DowntimeCreditStatus(StrEnum):
    AWAITING_INVOICE = "awaiting_invoice"  # the month's invoice is not issued yet: raised when it is
    CREDITED = "credited"  # a credit note exists (pending approval or issued: its own status says)
    NO_CREDIT = "no_credit"  # nothing to credit: below the minimum outage, or no leased hours lost


class DowntimeCredit(IdMixin, Base):
    """The service credit one outage ticket proposes for one lease: never twice (the unique key)."""

    __tablename__ = "downtime_credits"
    __table_args__ = (
        UniqueConstraint("ticket_id", "lease_id"),
        CheckConstraint(one_of("status", DowntimeCreditStatus), name="status"),
        CheckConstraint("amount_minor >= 0", name="amount"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    # the month (site-local, YYYY-MM) whose invoice is credited: the month the outage began
    period: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(3))
    hours_lost: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    # the computation, one entry per seat and month: seat, shift, hours lost, leased hours, price, amount
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credit_notes.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DowntimeCheck(Base):
    """An outage ticket the credits pass has looked at, as resolved at `resolved_at`: the pass looks again
    only when the ticket is resolved anew (a reopen) or its seats change, not on every pass."""

    __tablename__ = "downtime_checks"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
