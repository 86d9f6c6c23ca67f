"""Devices' request and response schemas: `DeviceCreate` and `DeviceUpdate` are what
domain/services/devices.py's use-cases take, from the API's body and the admin's form alike."""

from __future__ import annotations

import uuid
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
