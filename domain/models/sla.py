"""The help desk's SLA targets (issue 15): how long, in SLA time, a ticket of a priority and a
category may wait for its first answer and for its resolution. SLA time is the time the ticket's seat
is leased (domain/helpdesk/sla.py), so "4 h" on a DAY seat may span two calendar days."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, one_of
from domain.models.ticket import TicketCategory, TicketPriority


class SlaPolicy(IdMixin, Base):
    """One row per (priority, category): all 24 are seeded by migration 0038 and only edited after."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint(one_of("category", TicketCategory), name="category"),
        CheckConstraint(one_of("priority", TicketPriority), name="priority"),
        CheckConstraint("response_minutes > 0 AND response_minutes <= resolution_minutes", name="response_first"),
        CheckConstraint("due_soon_percent BETWEEN 1 AND 90", name="due_soon_percent"),
        UniqueConstraint("priority", "category"),
    )

    priority: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    # minutes of SLA time (leased time of the seat), not of the wall clock
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # "due soon" from when this share of the target is left
    due_soon_percent: Mapped[int] = mapped_column(Integer, default=20, server_default="20")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(320), default="migration", server_default="migration")
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
