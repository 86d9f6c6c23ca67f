"""Devices' request and response schemas: `DeviceCreate` and `DeviceUpdate` are what
domain/services/devices.py's use-cases take, from the API's body and the admin's form alike."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool

from domain.schemas import TEXT_PATTERN, Code, Omittable, Out, Strict

DeviceStatus = Literal["in_stock", "assigned", "in_repair", "retired"]


class DeviceCreate(Strict):
    serial: Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT_PATTERN)]
    kind: Code
    model: str = Field(default="", max_length=200, pattern=TEXT_PATTERN)
    site_id: uuid.UUID
    status: DeviceStatus = "in_stock"


class DeviceUpdate(Strict):
    status: Omittable[DeviceStatus] = None
    model: Omittable[str] = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    returned: Omittable[StrictBool] = Field(default=None, description="true records the device back in stock")
    # --- device history (issue 15) ---
    note: Omittable[str] = Field(
        default=None,
        max_length=500,
        pattern=TEXT_PATTERN,
        description="why (a repair's finding, a retirement's reason): kept in the device's history",
    )


class Device(Out):
    id: uuid.UUID
    serial: str
    kind: str
    model: str
    site_id: uuid.UUID
    status: str
    seat_id: uuid.UUID | None
    lease_id: uuid.UUID | None
    return_due_at: Any | None = None


# --- device history (issue 15) ---
class DeviceEventOut(Out):
    id: int
    at: datetime
    kind: str = Field(
        description="created, placed, moved, return_due, returned, swapped_out, swapped_in, repair_started, "
        "repaired, retired or status_change"
    )
    ticket_id: uuid.UUID | None
    ticket_number: int | None
    seat_id: uuid.UUID | None
    seat_label: str | None
    lease_id: uuid.UUID | None
    actor: str
    note: str


class DeviceTicketOut(Out):
    id: uuid.UUID
    number: int
    subject: str
    category: str
    status: str
    created_at: datetime


class DeviceHistoryOut(Out):
    device: Device
    events: list[DeviceEventOut] = Field(description="newest first")
    tickets: list[DeviceTicketOut] = Field(description="tickets about the device or that swapped it, newest first")
    repairs: int = Field(description="times the device went to repair (by staff or by a ticket's swap)")
    swaps: int = Field(description="times a ticket swapped the device out")
