from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of
from domain.models.invoice import TaxTreatment


class Client(IdMixin, TimestampMixin, Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("seat_cap IS NULL OR seat_cap >= 0", name="seat_cap"),
        CheckConstraint(one_of("tax_treatment", TaxTreatment), name="tax_treatment"),
        CheckConstraint("withholding_rate >= 0 AND withholding_rate < 1", name="withholding_rate"),
    )

    legal_name: Mapped[str] = mapped_column(String(300))
    billing_email: Mapped[str] = mapped_column(String(320))
    tax_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the most seats the client's own bookings may hold (domain/leasing/booking.py ``enforce_seat_cap``);
    # NULL = the setting ``client_seat_cap_default``; staff set it per client
    seat_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # --- finance (issue 12) ---
    # standard (the site's rate), zero_rated or exempt; the reason and certificate back the latter two
    tax_treatment: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    tax_exemption_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    tax_certificate_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # the share of an invoice the client withholds as tax (0.05 = 5% expanded withholding tax on rent)
    withholding_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(0), server_default="0")
    # no payment reminders for this client
    dunning_excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # --- client SCIM (issue 14) ---
    # the identity provider's own id of the group
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # the team a SCIM user sits in while its identity provider puts it in no group (a member
    # belongs to exactly one team); not a SCIM group itself
    holding: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # what the identity provider wrote on its members beyond their ids (their display names)
    scim_attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class Member(IdMixin, TimestampMixin, Base):
    """An agent of a client's team, who may sit at a leased seat."""

    __tablename__ = "members"
    __table_args__ = (
        # an email is unique within its client among the agents not deleted through SCIM (a re-hire
        # comes back under the same address as a new agent)
        Index(
            "uq_members_client_id_email",
            "client_id",
            "email",
            unique=True,
            postgresql_where=text("scim_deleted_at IS NULL"),
        ),
        # a SCIM userName is unique within its client among the agents not deleted
        Index(
            "uq_members_client_user_name",
            "client_id",
            text("lower(user_name)"),
            unique=True,
            postgresql_where=text("user_name IS NOT NULL AND scim_deleted_at IS NULL"),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    employee_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # --- client SCIM (issue 14) ---
    # the SCIM userName (NULL: the email stands for it) and the identity provider's id
    user_name: Mapped[str | None] = mapped_column(String(320), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # the rest of the SCIM resource as the identity provider sent it (never a password)
    scim_attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # deleted through SCIM: gone from the endpoint, kept for the records its credentials and audit name
    scim_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
