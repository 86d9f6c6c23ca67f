"""Issue 13's set-up edits: a floor renamed, zones named per floor, a shift edited, a plan's inclusions
added and edited. One input model per use-case of domain/services/site_setup.py, from the API's body
and the admin's forms alike."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from domain.schemas import INTEGRAL, LINE_PATTERN, TEXT_PATTERN, Code, HourMinute, Name, Omittable, Out, Strict


class FloorUpdate(Strict):
    name: Omittable[Annotated[str, Field(min_length=1, max_length=100, pattern=LINE_PATTERN)]] = None
    level: Omittable[Annotated[int, Field(strict=True, ge=-10, le=300), INTEGRAL]] = None


ZoneName = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE_PATTERN, examples=["A — Inbound voice"])]


class ZoneCreate(Strict):
    code: Code = Field(description="what the floor's seats carry as their `zone` (e.g. A)")
    name: ZoneName


class ZoneUpdate(Strict):
    """Only the name: the code is what the seats carry (rename a zone's people-facing name freely)."""

    name: ZoneName


class Zone(Out):
    id: uuid.UUID | None = Field(description="null for a code the floor's seats use that nobody has named yet")
    floor_id: uuid.UUID
    code: str
    name: str
    seats: int = Field(description="how many seats of the floor carry this zone (any status)")


class ShiftUpdate(Strict):
    """The code is what leases copy (and availability searches by), so it is not edited; the hours
    may change only while no lease uses the shift."""

    name: Omittable[str] = Field(default=None, max_length=100, pattern=TEXT_PATTERN)
    starts_at: Omittable[HourMinute] = None
    ends_at: Omittable[HourMinute] = None


class InclusionUpdate(Strict):
    """What people read, and what a seat of the plan receives. The price of an add-on changes by a
    dated price (POST /v1/plans/{id}/prices), never here; `billing` never changes (make another)."""

    name: Omittable[Name] = None
    kind: Omittable[Literal["power", "internet", "device", "facility", "software"]] = None
    device_kind: Omittable[Code] = None
    quantity_per_seat: Omittable[Annotated[int, Field(strict=True, ge=1, le=20), INTEGRAL]] = None
