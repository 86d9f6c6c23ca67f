"""The help desk (issue 15): tickets about seats, devices, leases and agents, their history,
comments and attachments. The workflow is domain/rules/ticket_flow.py; the use-cases are
domain/helpdesk/.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, one_of
from domain.rules.ticket_flow import DONE_STATUSES, TicketStatus  # noqa: F401  (the workflow's own, re-exported)


class TicketCategory(StrEnum):
    IT = "it"
    DEVICE = "device"
    NETWORK = "network"
    POWER = "power"
    FACILITY = "facility"  # desk and facility
    ACCESS = "access"


# how people read a category (the portal's and the admin's pages)
CATEGORY_LABELS: dict[str, str] = {
    TicketCategory.IT: "IT",
    TicketCategory.DEVICE: "Device",
    TicketCategory.NETWORK: "Network",
    TicketCategory.POWER: "Power",
    TicketCategory.FACILITY: "Desk and facility",
    TicketCategory.ACCESS: "Access",
}


class TicketPriority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


OPEN_TICKETS_SQL = "status NOT IN ('resolved', 'closed')"
SLA_NEXT_DUE_SQL = "COALESCE(CASE WHEN responded_at IS NULL THEN response_due_at ELSE resolution_due_at END, created_at)"


class Ticket(IdMixin, Base):
    """One problem reported at a site; `client_id` NULL: the facility's own (no client concerned).

    The SLA columns are written only by domain/helpdesk/sla.py: due instants are stored (not computed on
    read) so that the queue page sorts and filters on an index."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(one_of("category", TicketCategory), name="category"),
        CheckConstraint(one_of("priority", TicketPriority), name="priority"),
        CheckConstraint(one_of("status", TicketStatus), name="status"),
        Index("ix_tickets_client_id_created_at", "client_id", "created_at"),
        Index("ix_tickets_status_resolution_due_at", "status", "resolution_due_at"),
        Index("ix_tickets_created_at", "created_at"),
        # the staff's queue (domain/helpdesk/queue.py): open tickets by their nearest due instant
        Index("ix_tickets_queue", "sla_next_due_at", "id", postgresql_where=text(OPEN_TICKETS_SQL)),
        # --- KPIs (issue 15, migration 0041_helpdesk_kpis: domain/helpdesk/kpis.py) ---
        Index("ix_tickets_responded_at", "responded_at", postgresql_where=text("responded_at IS NOT NULL")),
        Index("ix_tickets_resolved_at", "resolved_at", postgresql_where=text("resolved_at IS NOT NULL")),
        Index("ix_tickets_occurred_at", "occurred_at"),
    )

    # the number people say ("T-1042"), from a sequence; the id stays the API's key
    number: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    seat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("seats.id"), nullable=True, index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"), nullable=True, index=True)
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id"), nullable=True, index=True)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True, index=True)
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    # who raised it: a user (staff or a client's login) or the system; and through which edge
    raised_by_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    raised_by: Mapped[str] = mapped_column(String(320))
    raised_via: Mapped[str] = mapped_column(String(8))  # api | portal | admin | system
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    # when the fault began (an outage reported late still counts from then); defaults to created_at
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the first answer the client can see (acknowledged, a status change, a public comment)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="", server_default="")
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # --- SLA (domain/helpdesk/sla.py) ---
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # while waiting on the client: since when the clock stands still
    sla_paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    response_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # --- SLA clock (issue 15, staffdesk; migration 0038_sla) ---
    # when the clock started (the ticket opened), and the SLA time it stood still since (waiting on the
    # client, or resolved until reopened): a due instant is `start` + target + paused, in SLA time
    sla_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # from when a clock is "due soon" (the policy's last due_soon_percent of its target)
    response_warn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the due instant the queue sorts on: the response's until answered, then the resolution's; a
    # ticket without a clock sorts by when it was raised. Generated, so no writer can let it drift
    # (the first answer may be set by a public comment, which is not an SLA change).
    sla_next_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), Computed(SLA_NEXT_DUE_SQL, persisted=True))


class TicketEvent(Base):
    """A ticket's history, one row per change (status, assignment, comment, swap, credit …).

    `public`: shown to the client (internal notes and assignments are not)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class TicketComment(IdMixin, Base):
    __tablename__ = "ticket_comments"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    author: Mapped[str] = mapped_column(String(320))
    # staff-only note: never shown to the client, never sent to it
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TicketAttachment(IdMixin, Base):
    """A file on a ticket: its bytes in `content`, or in the configured folder at `storage_path`
    (named by its SHA-256), never both."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (CheckConstraint("(content IS NULL) <> (storage_path IS NULL)", name="one_store"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ticket_comments.id", ondelete="CASCADE"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    storage_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    uploaded_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
