"""Logins' request and response schemas (domain/services/users.py): enabling or disabling a login, and
changing one's own password."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from domain.models.user import Role


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
