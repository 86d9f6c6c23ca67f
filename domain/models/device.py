from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class DeviceStatus(StrEnum):
    IN_STOCK = "in_stock"
    ASSIGNED = "assigned"
    IN_REPAIR = "in_repair"
    RETIRED = "retired"


class Device(IdMixin, TimestampMixin, Base):
    __tablename__ = "devices"
    __table_args__ = (CheckConstraint(one_of("status", DeviceStatus), name="status"),)

    serial: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    model: Mapped[str] = mapped_column(String(200), default="", server_default="")
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_stock", server_default="in_stock")
    seat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("seats.id"), nullable=True, index=True)
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id"), nullable=True, index=True)
    # set when the lease behind an assignment ended and the device must come back to stock
    return_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- device history (issue 15) ---
class DeviceEventKind(StrEnum):
    CREATED = "created"
    PLACED = "placed"  # put on a leased seat by the provisioning pass
    MOVED = "moved"  # followed its seat's move
    RETURN_DUE = "return_due"  # its lease no longer holds the seat: to collect
    RETURNED = "returned"  # back in stock
    SWAPPED_OUT = "swapped_out"  # taken off its seat by a ticket's swap (and sent to repair)
    SWAPPED_IN = "swapped_in"  # put on a seat by a ticket's swap
    REPAIR_STARTED = "repair_started"
    REPAIRED = "repaired"  # back in stock from repair
    RETIRED = "retired"
    STATUS_CHANGE = "status_change"  # any other change of status by staff


class DeviceEvent(Base):
    """One thing that happened to a device, append-only; the device's page and the problematic-assets
    KPI read it by device and instant (the one index that matters)."""

    __tablename__ = "device_events"
    __table_args__ = (
        CheckConstraint(one_of("kind", DeviceEventKind), name="kind"),
        Index("ix_device_events_device_id_at", "device_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True)
    seat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("seats.id"), nullable=True)
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"), nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
