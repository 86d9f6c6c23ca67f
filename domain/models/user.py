from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class Role(StrEnum):
    """What a login or a machine client may do. Staff roles carry no client; client roles carry one."""

    ADMIN = "admin"
    FACILITY_STAFF = "facility_staff"
    FINANCE = "finance"
    CLIENT_ADMIN = "client_admin"
    CLIENT_VIEWER = "client_viewer"


class PasswordChangeDue(StrEnum):
    """Why a login's password is to be changed (issue 13): ``required`` — a temporary password an
    admin set, nothing else works until it changes; ``suggested`` — the first admin's printed one."""

    REQUIRED = "required"
    SUGGESTED = "suggested"


# the role sets, kept under their old names (a role compares equal to its string)
ROLES: tuple[Role, ...] = tuple(Role)
STAFF_ROLES: tuple[Role, ...] = (Role.ADMIN, Role.FACILITY_STAFF, Role.FINANCE)
CLIENT_ROLES: tuple[Role, ...] = (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER)


class User(IdMixin, TimestampMixin, Base):
    """A login. Client roles carry their client (the tenant); staff roles carry none.

    An email is unique within its namespace only: among staff, or within one tenant. A tenant
    creating a login therefore never learns whether the email is used by staff or by another
    tenant; a password login resolves the account by email *and* password.

    ``token_version`` is carried by every token and admin session issued for the user; bumping it
    (disable, password change, logout) ends them all on their next request.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role"),
        CheckConstraint(f"({one_of('role', CLIENT_ROLES)}) = (client_id IS NOT NULL)", name="tenant"),
        Index("uq_users_staff_email", "email", unique=True, postgresql_where=text("client_id IS NULL")),
        Index("uq_users_client_email", "client_id", "email", unique=True, postgresql_where=text("client_id IS NOT NULL")),
        Index("ix_users_email", "email"),
        CheckConstraint(one_of("password_change", PasswordChangeDue), name="password_change"),
    )

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # --- people and keys (issue 13) ---
    # "required": a temporary password set by an admin; nothing but changing it works until then.
    # "suggested": the first admin's printed password; every admin page says where to change it.
    password_change: Mapped[str | None] = mapped_column(String(16), nullable=True)


class PasswordReset(IdMixin, TimestampMixin, Base):
    """A one-time password-reset link. Only the SHA-256 of its token is kept (the token is 256
    random bits, so a fast digest is enough); used once (``used_at``), dead after ``expires_at``."""

    __tablename__ = "password_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(320))


class ApiClient(IdMixin, TimestampMixin, Base):
    """A machine client (OAuth2 client_credentials); the secret is stored only as a hash.

    Rotating the secret replaces the hash and bumps ``token_version``: the old secret and every
    token issued under it stop working at once (no overlap). Revoking sets ``active`` false for good.
    ``last_used_at`` is written when a token is issued, never per request."""

    __tablename__ = "api_clients"

    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # --- people and keys (issue 13) ---
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(320), default="", server_default="")
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginFailure(Base):
    """A fixed-window counter of password attempts that have not (yet) succeeded, per account name
    or per network address. Kept in PostgreSQL so every API replica sees the same counts; the key
    is a digest, so neither the names tried nor the addresses are stored."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
