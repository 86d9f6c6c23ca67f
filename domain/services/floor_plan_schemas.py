"""The floor-plan editor's request schemas (domain/services/floor_plan.py): one input model per
use-case, from the API's body and the admin's forms alike."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, model_validator

from domain.schemas import INTEGRAL, Code, Coord, FieldError, Omittable, SeatIds, Strict

# a label prefix: what the generated numbers follow ("A-" gives …)
Prefix = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-. ]*$")]


class SeatBlockCreate(Strict):
    """A row (`rows` = 1) or a block of seats with generated labels: `prefix` + a number from `start`,
    zero-padded to `digits` (at least as many as the last number needs), numbered row by row."""

    zone: Code
    prefix: Prefix
    # at most 20 × 50 = 1,000 seats at once
    rows: Annotated[int, INTEGRAL] = Field(default=1, strict=True, ge=1, le=20)
    columns: Annotated[int, INTEGRAL] = Field(strict=True, ge=1, le=50)
    start: Annotated[int, INTEGRAL] = Field(default=1, strict=True, ge=0, le=99999)
    digits: Annotated[int, INTEGRAL] = Field(default=2, strict=True, ge=1, le=5)
    x: Omittable[Coord] = Field(
        default=None, description="column of the block's top-left seat (left out: below the floor's seats)"
    )
    y: Omittable[Coord] = Field(default=None, description="row of the block's top-left seat (left out: below the floor's seats)")


class SeatPosition(Strict):
    id: uuid.UUID
    x: Coord
    y: Coord


class FloorLayout(Strict):
    """New positions (grid column and row on the floor) of some of the floor's seats."""

    seats: Annotated[list[SeatPosition], Field(min_length=1, max_length=5000)]

    @model_validator(mode="after")
    def _unique(self) -> FloorLayout:
        if len({p.id for p in self.seats}) != len(self.seats):
            raise FieldError("seats", "each seat at most once")
        return self


class SeatsZone(Strict):
    seat_ids: SeatIds
    zone: Code


class SeatsStatus(Strict):
    """Into maintenance (never offered or booked; leases keep the seat) or back in service."""

    seat_ids: SeatIds
    status: Literal["active", "maintenance"]


class SeatsRetire(Strict):
    """Retire seats for good: refused for a seat that a lease holds today or later."""

    seat_ids: SeatIds
