"""The email outbox: a message is written in the transaction of the change that causes it (never
lost), claimed by one sender at a time (FOR UPDATE SKIP LOCKED) and marked sent in the transaction
that claimed it (never sent twice by two workers). See domain/services/mail.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of

EmailStatus = Literal["pending", "sent", "failed"]
EMAIL_STATUSES: tuple[EmailStatus, ...] = ("pending", "sent", "failed")


class EmailOutbox(IdMixin, TimestampMixin, Base):
    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(one_of("status", EMAIL_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # the sender's claim: the pending rows due now, oldest first
        Index("ix_email_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    # the same key twice is the same message: queueing it again is a no-op
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    # the client it concerns (tenant of the message), and what it is about (e.g. "proposal", a lease id)
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"), nullable=True, index=True)
    topic: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    to_addrs: Mapped[list[str]] = mapped_column(ARRAY(String(320)))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the SMTP server's answer to the last failed attempt (never the message itself)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class EmailAttachment(IdMixin, Base):
    __tablename__ = "email_outbox_attachments"

    email_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_outbox.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
