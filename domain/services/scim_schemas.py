"""The shapes of a client's SCIM token in the API (issue 14)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class ScimTokenStatus(BaseModel):
    client_id: uuid.UUID
    active: bool = Field(description="whether a token is in force (issued and not revoked)")
    endpoint: str = Field(description="the client's SCIM base URL, for the identity provider")
    issued_at: datetime | None
    issued_by: str
    rotations: int
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="when the identity provider last called (to the minute)")


class ScimTokenSecret(ScimTokenStatus):
    token: str = Field(description="the bearer token, shown in this answer only; seatlease keeps only its SHA-256")
