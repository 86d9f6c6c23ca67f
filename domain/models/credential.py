from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class CredentialKind(StrEnum):
    """The target system a credential lives in."""

    DIRECTORY = "directory"
    BADGE = "badge"
    WIFI = "wifi"


class CredentialState(StrEnum):
    """What the reconciler last achieved for a credential."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKING = "revoking"
    REVOKED = "revoked"
    FAILED = "failed"


class GuardStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CONSUMED = "consumed"
    DISMISSED = "dismissed"
    # a person said the held revocation is not intended: the credentials stay, the drift is not asked about again
    REJECTED = "rejected"


CREDENTIAL_KINDS: tuple[CredentialKind, ...] = tuple(CredentialKind)
CREDENTIAL_STATES: tuple[CredentialState, ...] = tuple(CredentialState)


class Credential(IdMixin, TimestampMixin, Base):
    """Something a member holds because of a lease, in one target system.

    `desired` is what the leases say now; `state` is what the reconciler last achieved.
    A row is work for the reconciler while `next_attempt_at` is set and due.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("kind", "lease_id", "member_id"),
        CheckConstraint(one_of("kind", CredentialKind), name="kind"),
        CheckConstraint(one_of("state", CredentialState), name="state"),
        Index("ix_credentials_due", "next_attempt_at", postgresql_where="next_attempt_at IS NOT NULL"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("seats.id"), nullable=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    login: Mapped[str] = mapped_column(String(120))
    desired: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending", index=True)
    # the target system's own id (SCIM resource id, RADIUS username, badge holder id)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # what the target needs to be told again without the secret: groups joined, a password hash
    external_ref: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    access_groups: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the secret, encrypted with a key derived from SEATLEASE_SECRET_KEY; emptied once revealed
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    secret_revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    desired_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_granted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoke_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeviceShortage(IdMixin, TimestampMixin, Base):
    """A leased seat that should hold more devices of a kind than stock could give it."""

    __tablename__ = "device_shortages"
    __table_args__ = (UniqueConstraint("lease_id", "seat_id", "device_kind"),)

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"))
    device_kind: Mapped[str] = mapped_column(String(32))
    missing: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RevocationGuard(IdMixin, TimestampMixin, Base):
    """A sweep that would have revoked too many credentials at once, waiting for a human."""

    __tablename__ = "revocation_guards"
    __table_args__ = (CheckConstraint(one_of("status", GuardStatus), name="status"),)

    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending", index=True)
    would_revoke: Mapped[int] = mapped_column(Integer)
    total_active: Mapped[int] = mapped_column(Integer)
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # --- integrations (issue 13): which targets it holds credentials of, and a rejection ---
    by_kind: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict, server_default="{}")
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
