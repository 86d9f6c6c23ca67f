"""The leasing aggregate's request and response schemas: one input model per use-case.

`LeaseCreate` is what `book_lease` takes, from the API's body and the admin's booking form alike.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.schemas import INTEGRAL, Code, FieldError, Out, Percent, SafeDate, SeatCount, SeatIds, Strict, one_of


class SeatBrief(Out):
    id: uuid.UUID
    label: str
    floor_id: uuid.UUID
    zone: str


# the free seats of a site for a shift and dates (domain/leasing/availability.py)
class Availability(BaseModel):
    free_count: int
    seats: list[SeatBrief]


class AddOnIn(Strict):
    code: Code
    quantity: Annotated[int, INTEGRAL] = Field(strict=True, ge=1, le=10000)


class AddOn(BaseModel):
    code: str
    name: str
    billing: str
    unit_price_minor: int
    quantity: int
    # --- changes during a term: dated add-ons (issue 11) ---
    # when this quantity starts and ends (null: the lease's own start or end)
    start_date: date | None = None
    end_date: date | None = None


class LeaseCreate(Strict):
    model_config = ConfigDict(json_schema_extra=one_of("seat_count", "seat_ids"))

    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: Code
    start_date: SafeDate
    end_date: SafeDate | None = None
    seat_count: SeatCount | None = None
    seat_ids: SeatIds | None = None
    add_ons: list[AddOnIn] = Field(default_factory=list, max_length=50)
    discount_pct: Percent = Decimal("0")

    @model_validator(mode="after")
    def _shape(self) -> LeaseCreate:
        if (self.seat_count is None) == (self.seat_ids is None):
            raise FieldError("seat_count", "give either seat_count or seat_ids")
        if self.seat_ids is not None and len(set(self.seat_ids)) != len(self.seat_ids):
            raise FieldError("seat_ids", "seat_ids must be unique")
        if self.end_date is not None and self.end_date < self.start_date:
            raise FieldError("end_date", "end_date is before start_date")
        return self


class LeaseSeatPeriod(BaseModel):
    seat_id: uuid.UUID
    label: str
    start_date: date
    end_date: date | None


class Lease(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: str
    start_date: date
    end_date: date | None
    status: str
    seats: list[SeatBrief]
    seat_periods: list[LeaseSeatPeriod]
    add_ons: list[AddOn]
    discount_pct: str
    currency: str


class SeatsAdd(Strict):
    model_config = ConfigDict(json_schema_extra=one_of("seat_count", "seat_ids"))

    seat_count: SeatCount | None = None
    seat_ids: SeatIds | None = None
    effective: SafeDate

    @model_validator(mode="after")
    def _shape(self) -> SeatsAdd:
        if (self.seat_count is None) == (self.seat_ids is None):
            raise FieldError("seat_count", "give either seat_count or seat_ids")
        if self.seat_ids is not None and len(set(self.seat_ids)) != len(self.seat_ids):
            raise FieldError("seat_ids", "seat_ids must be unique")
        return self


class LeaseEnd(Strict):
    end_date: SafeDate


class Assignment(Strict):
    seat_id: uuid.UUID
    member_id: uuid.UUID


class AssignmentOut(Out):
    seat_id: uuid.UUID
    member_id: uuid.UUID
