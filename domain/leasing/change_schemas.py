"""Request and response schemas of the changes during a term (issue 11): seat moves, floor moves,
dated add-on changes. One input model per use-case (domain/leasing/moves.py, addons.py), the one
the API parses and the admin's forms build."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from domain.schemas import INTEGRAL, Code, FieldError, Out, SafeDate, SeatIds, Strict, one_of


class SeatMoveIn(Strict):
    """Move one seat of the lease (and the agent assigned to it) to ``to_seat_id`` from ``effective``.
    Name the seat by ``seat_id`` or by the agent sitting at it (``member_id``)."""

    model_config = ConfigDict(json_schema_extra=one_of("seat_id", "member_id"))

    seat_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    to_seat_id: uuid.UUID
    effective: SafeDate

    @model_validator(mode="after")
    def _shape(self) -> SeatMoveIn:
        if (self.seat_id is None) == (self.member_id is None):
            raise FieldError("seat_id", "give either seat_id or member_id")
        if self.seat_id is not None and self.seat_id == self.to_seat_id:
            raise FieldError("to_seat_id", "to_seat_id is the seat being moved")
        return self


class FloorMoveIn(Strict):
    """Move every seat the lease holds on ``effective`` to ``floor_id``: to the seats named in
    ``seat_ids`` (as many as the lease holds), or to seats the allocator picks there, together."""

    floor_id: uuid.UUID
    seat_ids: SeatIds | None = None
    effective: SafeDate

    @model_validator(mode="after")
    def _shape(self) -> FloorMoveIn:
        if self.seat_ids is not None and len(set(self.seat_ids)) != len(self.seat_ids):
            raise FieldError("seat_ids", "seat_ids must be unique")
        return self


class SeatMoveOut(Out):
    id: uuid.UUID
    lease_id: uuid.UUID
    amendment_id: uuid.UUID
    from_seat_id: uuid.UUID
    to_seat_id: uuid.UUID
    member_id: uuid.UUID | None
    effective_date: date


class AddOnChangeIn(Strict):
    """The add-on's quantity from ``effective`` on (0 removes it), replacing any change of it
    scheduled after that date."""

    quantity: Annotated[int, INTEGRAL] = Field(strict=True, ge=0, le=10000)
    effective: SafeDate


class AddOnPeriod(Out):
    code: str
    name: str
    quantity: int
    start_date: date
    end_date: date | None


__all__ = ["AddOnChangeIn", "AddOnPeriod", "Code", "FloorMoveIn", "SeatMoveIn", "SeatMoveOut"]
