"""The leasing aggregate's request and response schemas: one input model per use-case.

`LeaseCreate` is what `book_lease` takes, from the API's body and the admin's booking form alike.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.leasing.terms_schemas import NoticeDays, PriceStep, PriceStepIn
from domain.models.lease import RenewalMode
from domain.schemas import (
    INTEGRAL,
    TEXT_PATTERN,
    Code,
    FieldError,
    Money,
    Omittable,
    Out,
    Percent,
    SafeDate,
    SeatCount,
    SeatIds,
    Strict,
    one_of,
)


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

    # issue 14: a client's own token may leave it out (its own client); staff must give it (422)
    client_id: uuid.UUID | None = Field(default=None, description="the client; a client's token may leave it out: its own")
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
    # --- terms (issue 11), staff only like the discount: the notice period (default: the plan's), a
    # yearly escalation on each anniversary of the start, and a schedule of dated seat prices
    notice_days: Omittable[NoticeDays] = None
    escalation_pct: Omittable[Percent] = None
    price_steps: list[PriceStepIn] = Field(default_factory=list, max_length=40)

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
    # --- notice, approvals, renewal (issue 11, renewal) ---
    notice_days: int = Field(description="the lease's notice period in days (a client ends a rolling lease no earlier)")
    term_start_date: date = Field(description="the first day of the current term (the start, or the last renewal's)")
    term_end_date: date | None = Field(
        description="the contract's term end (a fixed-term lease); null = rolling with notice. end_date is earlier "
        "only after an early termination"
    )
    renewal_mode: str = Field(description="manual | auto (renewed for the same term on its end date) | lapse")
    up_for_renewal: bool = Field(description="a fixed-term lease within the renewal window of its term end")
    renewal_window_starts: date | None = Field(description="the day the lease becomes up for renewal")
    rejection_reason: str | None = Field(description="why finance rejected the lease (then cancelled)")
    # --- terms (issue 11): the lease's own prices, copied from the plan's price in force on its start
    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    escalation_pct: str | None
    price_steps: list[PriceStep]


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


Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)]


class LeaseEnd(Strict):
    end_date: SafeDate
    # --- early termination (issue 11, renewal): staff only ---
    reason: Omittable[Reason] = Field(default=None, description="staff only: why the lease ends (early termination)")
    early_termination_fee_minor: Omittable[Annotated[Money, Field(ge=1)]] = Field(
        default=None, description="staff only: a fee billed on the client's next invoice; needs a reason and an early end"
    )


# --- notice, approvals, renewal (issue 11, renewal) ---


class LeaseReject(Strict):
    reason: Reason


class NoticeSet(Strict):
    notice_days: Annotated[int, INTEGRAL] = Field(strict=True, ge=0, le=730)


class RenewalModeSet(Strict):
    renewal_mode: RenewalMode
    reason: Omittable[Reason] = None


class LeaseRenew(Strict):
    end_date: Omittable[SafeDate] = Field(
        default=None, description="the new term's last day; default: a term as long as the current one"
    )
    seat_price_minor: Omittable[Money] = Field(
        default=None, description="the new term's monthly seat price (minor units, the site's currency)"
    )
    reason: Omittable[Reason] = None


# --- end issue 11, renewal ---


class Assignment(Strict):
    seat_id: uuid.UUID
    member_id: uuid.UUID


class AssignmentOut(Out):
    seat_id: uuid.UUID
    member_id: uuid.UUID
