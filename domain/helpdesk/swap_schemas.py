"""A ticket's device swap: what staff send and what comes back."""

from __future__ import annotations

import uuid

from pydantic import Field

from domain.schemas import TEXT_PATTERN, Omittable, Out, Strict
from domain.services.device_schemas import Device


class DeviceSwapIn(Strict):
    replacement_device_id: uuid.UUID = Field(description="a device in stock of the same kind at the same site")
    faulty_device_id: Omittable[uuid.UUID] = Field(
        default=None, description="the device on the ticket's seat to send to repair; default: the ticket's device"
    )
    note: str = Field(default="", max_length=500, pattern=TEXT_PATTERN, description="kept in both devices' history")


class DeviceSwapOut(Out):
    ticket_id: uuid.UUID
    faulty: Device = Field(description="now in repair, off the seat")
    replacement: Device = Field(description="now on the seat, for the same lease")
