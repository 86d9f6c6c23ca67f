from __future__ import annotations

import uuid

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin

ROLES = ("admin", "facility_staff", "finance", "client_admin", "client_viewer")
STAFF_ROLES = ("admin", "facility_staff", "finance")
CLIENT_ROLES = ("client_admin", "client_viewer")


class User(IdMixin, TimestampMixin, Base):
    """A login. Client roles carry their client (the tenant); staff roles carry none."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','facility_staff','finance','client_admin','client_viewer')", name="role"
        ),
        CheckConstraint(
            "(role IN ('client_admin','client_viewer')) = (client_id IS NOT NULL)", name="tenant"
        ),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class ApiClient(IdMixin, TimestampMixin, Base):
    """A machine client (OAuth2 client_credentials); the secret is stored only as a hash."""

    __tablename__ = "api_clients"

    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
