"""Logins' request and response schemas (domain/services/users.py): enabling or disabling a login, and
changing one's own password."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models.user import Role
from domain.schemas import Email, Name, Strict


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    active: bool


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    client_id: uuid.UUID | None
    active: bool


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


# --- people and keys (issue 13) ---


class UserListItem(UserOut):
    created_at: datetime
    # "required": a temporary password to change at the next sign-in; "suggested": the first admin's
    password_change: Literal["required", "suggested"] | None


class UserCreate(Strict):
    """A login. Without `password`, a temporary one is made, returned once, and must be changed at
    the first sign-in."""

    email: Email
    role: Role
    client_id: uuid.UUID | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class UserCreated(UserListItem):
    temporary_password: str | None = Field(default=None, description="shown once: the server keeps only its hash")


class PasswordResetRequest(Strict):
    """`link`: a one-time link valid for 24 hours (its token is returned once; only its hash is
    kept). `temporary_password`: a password returned once that must be changed at the next sign-in;
    every session of the user ends at once."""

    method: Literal["link", "temporary_password"] = "link"


class PasswordResetOut(BaseModel):
    method: Literal["link", "temporary_password"]
    reset_url: str | None = Field(default=None, description="shown once: open it to choose a new password")
    token: str | None = Field(default=None, description="the link's token, for `POST /v1/auth/password-reset`")
    expires_at: datetime | None = None
    temporary_password: str | None = Field(default=None, description="shown once")


class PasswordResetUse(Strict):
    token: str = Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    new_password: str = Field(min_length=10, max_length=200)


class ApiCredentialCreate(Strict):
    """A machine credential. `role`: client_admin or client_viewer with the `client_id` (a client's
    admin: its own client only), or — staff only — facility_staff or finance with no client."""

    name: Name
    role: Literal["client_admin", "client_viewer", "facility_staff", "finance"]
    client_id: uuid.UUID | None = None


class ApiCredential(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    client_key: str = Field(description="the `client_id` of the client_credentials grant")
    role: Role
    client_id: uuid.UUID | None
    active: bool
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = Field(description="when a token was last issued for it")
    rotated_at: datetime | None
    revoked_at: datetime | None


class ApiCredentialSecret(ApiCredential):
    client_secret: str = Field(description="shown once: the server keeps only its hash")
