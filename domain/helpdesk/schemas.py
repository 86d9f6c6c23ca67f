"""The help desk's API shapes: what a ticket, its comments, attachments and history look like."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.models.ticket import TicketCategory, TicketPriority, TicketStatus


class Requester(Protocol):
    """Who asks for a change: a staff or client login, a machine client, or the system (the API's and
    the portal's principal is one)."""

    @property
    def subject(self) -> uuid.UUID: ...
    @property
    def label(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def client_id(self) -> uuid.UUID | None: ...


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str) -> str:
    return value.strip()


class TicketCreate(_In):
    """A new ticket. A client token's `client_id` defaults to its own; staff may name any client or none
    (the facility's own ticket). `site_id` may be left out when a seat, device or lease says which site."""

    client_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    seat_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    lease_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = Field(default=None, description="the agent the problem concerns")
    category: TicketCategory
    priority: TicketPriority = TicketPriority.NORMAL
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    occurred_at: datetime | None = Field(default=None, description="when the fault began; default: now")

    _strip = field_validator("subject", "description")(_text)

    @field_validator("subject")
    @classmethod
    def _subject_not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("the subject is empty")
        return value


class StatusChange(_In):
    status: TicketStatus
    resolution: str = Field(default="", max_length=20_000, description="what fixed it; required when resolving")

    _strip = field_validator("resolution")(_text)


class TicketAssignment(_In):
    assignee_id: uuid.UUID | None = Field(description="an active admin or facility_staff user; null unassigns")


class Triage(_In):
    priority: TicketPriority | None = None
    category: TicketCategory | None = None


class CommentCreate(_In):
    body: str = Field(min_length=1, max_length=20_000)
    internal: bool = Field(default=False, description="a staff-only note, never shown nor sent to the client")

    @field_validator("body")
    @classmethod
    def _body_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the comment is empty")
        return value


class TicketOut(BaseModel):
    id: uuid.UUID
    number: int
    reference: str = Field(description='the number people say, e.g. "T-1042"')
    client_id: uuid.UUID | None
    site_id: uuid.UUID
    seat_id: uuid.UUID | None
    device_id: uuid.UUID | None
    lease_id: uuid.UUID | None
    member_id: uuid.UUID | None
    category: TicketCategory
    priority: TicketPriority
    status: TicketStatus
    subject: str
    description: str
    raised_by: str
    raised_via: str
    assignee_id: uuid.UUID | None = Field(description="staff only; null in a client's view")
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    reopened_count: int
    reopen_until: datetime | None = Field(description="a resolved ticket: the last instant it may be reopened")
    response_due_at: datetime | None
    resolution_due_at: datetime | None


class TicketList(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class CommentOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    author: str
    internal: bool
    body: str
    created_at: datetime


class CommentList(BaseModel):
    items: list[CommentOut]


class AttachmentOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    internal: bool
    uploaded_by: str
    created_at: datetime


class AttachmentList(BaseModel):
    items: list[AttachmentOut]


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    from_status: TicketStatus | None
    to_status: TicketStatus | None
    public: bool
    data: dict[str, Any]


class EventList(BaseModel):
    items: list[EventOut]


TicketState = Literal["open", "closed"]
