"""Outbound webhooks (issue 14): endpoints, the event outbox, deliveries and their attempts.

Events are written by a trigger on `audit_events` (migration 0033): the audit row every use-case
writes in its own transaction is the change, so the event commits or rolls back with it, once per
change, whichever path wrote it (the ORM, COPY, raw SQL). See domain/webhooks/catalog.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # held: its deliveries wait (never dropped) until it is resumed


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (held while its endpoint is paused)
    DELIVERED = "delivered"


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(one_of("status", EndpointStatus), name="status"),
        CheckConstraint("consecutive_failures >= 0", name="consecutive_failures"),
    )

    # null: the facility's own systems (every client's events they subscribe to)
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"), nullable=True, index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # AES-GCM under a key derived from SEATLEASE_SECRET_KEY (domain/webhooks/signing.py); never plain
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # after a rotation the old secret also signs (a second v1=) until this moment
    previous_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    paused_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookEvent(Base):
    """One change a client's systems may hear of: written by the audit trigger, never updated."""

    __tablename__ = "webhook_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    # the order of changes (a resumed endpoint receives what it missed in this order)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the audit row of the change: one event per change
    audit_event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event for one endpoint: the worker's state row (FOR UPDATE SKIP LOCKED)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
        UniqueConstraint("endpoint_id", "event_id"),
        # the worker's claim: pending rows due now
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # an endpoint's log, newest first
        Index("ix_webhook_deliveries_endpoint_seq", "endpoint_id", "event_seq"),
        # the events no delivery refers to any more (pruning)
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id"))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookAttempt(Base):
    """One POST of a delivery: what the receiver answered (its body truncated) or why it failed."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class InvoiceOverdueMark(Base):
    """An invoice announced overdue (billing/overdue_events.py): once per invoice, whatever passes run."""

    __tablename__ = "invoice_overdue_marks"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
