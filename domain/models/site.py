from __future__ import annotations

import uuid
from datetime import time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, Integer, Numeric, String, Text, Time, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class Site(IdMixin, TimestampMixin, Base):
    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    # --- the issuing entity named on every invoice, credit note and statement (issue 12) ---
    legal_name: Mapped[str] = mapped_column(String(300), default="", server_default="")
    tax_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    invoice_footer: Mapped[str] = mapped_column(Text, default="", server_default="")
    # --- documents (issue 12, 0023): what the site's tax is called on its documents ("VAT", "Sales tax", "GST") ---
    tax_label: Mapped[str] = mapped_column(String(32), default="VAT", server_default="VAT")


class Floor(IdMixin, TimestampMixin, Base):
    __tablename__ = "floors"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer, default=0)


class Zone(IdMixin, TimestampMixin, Base):
    """A named area of a floor ("A — Inbound voice"), named before seats are drawn (issue 13).
    ``code`` is what a seat's ``zone`` holds: seats keep the code (the seat map, availability and
    booking read it as before); the name is for people."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("floor_id", "code"),)

    floor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Shift(IdMixin, TimestampMixin, Base):
    """A named daily window. starts_at == ends_at means the whole day (FULL);
    ends_at < starts_at crosses midnight."""

    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)


class SeatStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class Seat(IdMixin, TimestampMixin, Base):
    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("site_id", "label"),
        CheckConstraint(one_of("status", SeatStatus), name="status"),
        # booking reads the site's free seats from the index alone (migration 0004_booking_perf)
        Index(
            "ix_seats_site_id_map",
            "site_id",
            postgresql_include=["id", "floor_id", "zone", "x", "y", "label"],
            postgresql_where=text("status = 'active'"),
        ),
        # --- API polish (issue 14): seats listed in label order, paged on (label_key, id) ---
        Index("ix_seats_site_label_key", "site_id", "label_key", "id"),
    )

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    floor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    zone: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    # --- API polish (issue 14): the label as it sorts for people, "A-2" before "A-10": each run of
    # digits padded to 20 by PostgreSQL itself (function natural_sort_key, migration 0031), compared
    # byte by byte (collation "C"), so every writer of a label keeps it right ---
    label_key: Mapped[str] = mapped_column(String(400, collation="C"), Computed("natural_sort_key(label)", persisted=True))
    # the key is read back with RETURNING on every insert and update: never a lazy load (the audit's
    # snapshot reads every column, in async code)
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy's declarative attribute)
    # grid position on the floor's seat map: column and row
    x: Mapped[int] = mapped_column(Integer, default=0)
    y: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
