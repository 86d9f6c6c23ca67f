"""Webhooks' request and response schemas (domain/webhooks/endpoints.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.schemas import Omittable, Strict
from domain.webhooks.catalog import EVENT_TYPES

EventType = Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)}, examples=["lease.confirmed"])]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES), json_schema_extra={"uniqueItems": True})]
Url = Annotated[str, Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/seatlease"])]
Description = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class EndpointCreate(Strict):
    url: Url
    event_types: EventTypes
    description: Description = ""
    client_id: uuid.UUID | None = Field(
        default=None, description="The client whose events it receives; a client admin may leave it out (its own)."
    )
    facility: bool = Field(
        default=False, description="Admin only: an endpoint of the facility's own systems (every client's events)."
    )


class EndpointUpdate(Strict):
    url: Omittable[Url] = None
    event_types: Omittable[EventTypes] = None
    description: Omittable[Description] = None


class EventTypeInfo(BaseModel):
    type: str
    description: str
    emitted: bool


class Endpoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID | None = Field(description="null: the facility's own systems")
    url: str
    description: str
    event_types: list[str]
    status: Literal["active", "paused"]
    paused_at: datetime | None
    paused_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    previous_secret_until: datetime | None = Field(description="after a rotation, the old secret also signs until then")
    created_at: datetime


class EndpointSecret(Endpoint):
    secret: str = Field(description="The signing secret: shown in this answer only.")


class Attempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    duration_ms: int
    response_status: int | None
    response_body: str | None = Field(description="the receiver's answer, truncated")
    error: str | None


class Delivery(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    event_created: datetime
    status: Literal["pending", "held", "delivered"] = Field(description="held: pending while its endpoint is paused")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    response_status: int | None
    delivered_at: datetime | None


class DeliveryDetail(Delivery):
    payload: dict[str, object] = Field(description="the body sent (the same event id on every attempt)")
    attempt_log: list[Attempt]
