"""A client's SCIM 2.0 endpoint (issue 14): its bearer token, and the deprovisions it asked for.

The token is kept only as its SHA-256 (256 random bits: a fast digest is enough, as for reset
links). One token per client: rotating replaces the hash in place, so the old token stops working
in the same transaction the new one starts (no overlap); revoking empties it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of

DEPROVISION_KINDS = ("deactivate", "delete")


class ScimToken(TimestampMixin, Base):
    __tablename__ = "scim_tokens"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    # NULL once revoked; unique so a presented token finds its client in one indexed look-up
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    issued_by: Mapped[str] = mapped_column(String(320), default="", server_default="")
    rotations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ScimDeprovision(IdMixin, TimestampMixin, Base):
    """An agent the identity provider deactivated or deleted: when it asked (the SCIM call's
    instant) and when the reconciler had cut the last of the agent's facility credentials."""

    __tablename__ = "scim_deprovisions"
    __table_args__ = (CheckConstraint(one_of("kind", DEPROVISION_KINDS), name="kind"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the credentials the agent held (granted, not yet cut) when the call came; 0: nothing to wait for
    credentials: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
