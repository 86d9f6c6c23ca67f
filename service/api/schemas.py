"""Request and response schemas of the leasing core (`Lease`, `LeaseCreate`, ...)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

T = TypeVar("T")

Money = Annotated[int, Field(ge=0, le=10**13)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
SafeDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))]


class FieldError(ValueError):
    """A model-level check that knows which field is at fault (named in the problem+json)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# ---- sites, floors, shifts, seats -------------------------------------------------

def _check_timezone(v: str) -> str:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone") from exc
    return v


class SiteCreate(Strict):
    code: Code
    name: Name
    address: str = Field(default="", max_length=500)
    timezone: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tax_rate: Decimal = Field(ge=0, le=1, max_digits=6, decimal_places=4)

    _tz = field_validator("timezone")(_check_timezone)


class SiteUpdate(Strict):
    name: Name | None = None
    address: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    tax_rate: Decimal | None = Field(default=None, ge=0, le=1, max_digits=6, decimal_places=4)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_timezone(v)


class Site(Out):
    id: uuid.UUID
    code: str
    name: str
    address: str
    timezone: str
    currency: str
    tax_rate: str

    @field_validator("tax_rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> str:
        return str(Decimal(v).normalize()) if not isinstance(v, str) else v


class FloorCreate(Strict):
    name: Name
    level: int = Field(default=0, ge=-10, le=300)


class Floor(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    name: str
    level: int


class ShiftCreate(Strict):
    code: Code
    name: str = Field(default="", max_length=100)
    starts_at: time
    ends_at: time

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _minute(cls, v: time) -> time:
        if v.second or v.microsecond or v.tzinfo:
            raise ValueError("use HH:MM")
        return v


class Shift(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    code: str
    name: str
    starts_at: str
    ends_at: str

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> str:
        return v.strftime("%H:%M") if isinstance(v, time) else str(v)


SeatStatus = Literal["active", "maintenance", "retired"]


class SeatCreate(Strict):
    """Bulk (`labels`) or one seat (`label`), on one floor and zone."""

    floor_id: uuid.UUID
    zone: Code
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=2000
    )
    label: str | None = Field(default=None, min_length=1, max_length=64)
    x: int | None = Field(default=None, ge=0, le=10000)
    y: int | None = Field(default=None, ge=0, le=10000)
    columns: int = Field(default=10, ge=1, le=200, description="seats per row when laying out a bulk create")

    @model_validator(mode="after")
    def _one_or_many(self) -> SeatCreate:
        if (self.labels is None) == (self.label is None):
            raise FieldError("labels", "give either labels (bulk) or label (one seat)")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise FieldError("labels", "labels must be unique")
        return self


class SeatUpdate(Strict):
    status: SeatStatus | None = None
    zone: Code | None = None
    x: int | None = Field(default=None, ge=0, le=10000)
    y: int | None = Field(default=None, ge=0, le=10000)


class Seat(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    floor_id: uuid.UUID
    zone: str
    label: str
    x: int
    y: int
    status: str


class SeatBrief(Out):
    id: uuid.UUID
    label: str
    floor_id: uuid.UUID
    zone: str


class Availability(BaseModel):
    free_count: int
    seats: list[SeatBrief]


# ---- plans -------------------------------------------------------------------------

class InclusionIn(Strict):
    code: Code
    name: Name
    kind: Literal["power", "internet", "device", "facility", "software"]
    billing: Literal["included", "monthly", "one_time"] = "included"
    unit_price_minor: Money = 0
    device_kind: Code | None = None
    quantity_per_seat: int = Field(default=1, ge=1, le=20)

    @model_validator(mode="after")
    def _priced(self) -> InclusionIn:
        if self.billing == "included" and self.unit_price_minor:
            raise FieldError("unit_price_minor", "an included item has no unit price")
        return self


class Inclusion(Out):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    billing: str
    unit_price_minor: int
    device_kind: str | None
    quantity_per_seat: int


class PlanCreate(Strict):
    site_id: uuid.UUID
    name: Name
    monthly_price_minor: Money
    setup_fee_minor: Money = 0
    deposit_months: int = Field(default=0, ge=0, le=12)
    inclusions: list[InclusionIn] = Field(default_factory=list, max_length=50)

    @field_validator("inclusions")
    @classmethod
    def _unique_codes(cls, v: list[InclusionIn]) -> list[InclusionIn]:
        if len({i.code for i in v}) != len(v):
            raise ValueError("inclusion codes must be unique")
        return v


class Plan(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    name: str
    currency: str
    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    inclusions: list[Inclusion]


# ---- clients, users, teams, members ------------------------------------------------

class ClientCreate(Strict):
    legal_name: Name
    billing_email: EmailStr
    tax_id: str = Field(default="", max_length=64)
    payment_terms_days: int = Field(default=30, ge=0, le=365)


class ClientUpdate(Strict):
    """Staff only. ``seat_cap``: the most seats the client's own bookings may hold; null = the default."""

    legal_name: Name | None = None
    billing_email: EmailStr | None = None
    tax_id: str | None = Field(default=None, max_length=64)
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    seat_cap: int | None = Field(default=None, ge=0, le=1_000_000)


class Client(Out):
    id: uuid.UUID
    legal_name: str
    billing_email: str
    tax_id: str
    payment_terms_days: int
    stripe_customer_id: str | None = None
    seat_cap: int | None = None


class ClientUserCreate(Strict):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200)
    role: Literal["client_admin", "client_viewer"]


class User(Out):
    id: uuid.UUID
    email: str
    role: str
    client_id: uuid.UUID | None


class TeamCreate(Strict):
    name: Name


class Team(Out):
    id: uuid.UUID
    client_id: uuid.UUID
    name: str


class MemberCreate(Strict):
    name: Name
    email: EmailStr
    employee_id: str = Field(default="", max_length=64)


class Member(Out):
    id: uuid.UUID
    client_id: uuid.UUID
    team_id: uuid.UUID
    name: str
    email: str
    employee_id: str
    active: bool


# ---- leases ------------------------------------------------------------------------

class AddOnIn(Strict):
    code: Code
    quantity: int = Field(ge=1, le=10000)


class AddOn(BaseModel):
    code: str
    name: str
    billing: str
    unit_price_minor: int
    quantity: int


class LeaseCreate(Strict):
    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: Code
    start_date: SafeDate
    end_date: SafeDate | None = None
    seat_count: int | None = Field(default=None, ge=1, le=2000)
    seat_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=2000)
    add_ons: list[AddOnIn] = Field(default_factory=list, max_length=50)
    discount_pct: Decimal = Field(default=Decimal("0"), ge=0, le=100, max_digits=5, decimal_places=2)

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
    seat_count: int | None = Field(default=None, ge=1, le=2000)
    seat_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=2000)
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


# ---- devices -----------------------------------------------------------------------

DeviceStatus = Literal["in_stock", "assigned", "in_repair", "retired"]


class DeviceCreate(Strict):
    serial: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Code
    model: str = Field(default="", max_length=200)
    site_id: uuid.UUID
    status: DeviceStatus = "in_stock"


class DeviceUpdate(Strict):
    status: DeviceStatus | None = None
    model: str | None = Field(default=None, max_length=200)
    returned: bool | None = Field(default=None, description="true records the device back in stock")


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


# ---- audit, reports -------------------------------------------------------------------

class AuditEventOut(Out):
    id: int
    at: Any
    actor_id: uuid.UUID | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class OccupancyRow(BaseModel):
    site_id: uuid.UUID
    site_code: str
    floor_id: uuid.UUID
    floor_name: str
    shift: str
    seats_total: int
    seats_leased: int
    occupancy_rate: float


class Occupancy(BaseModel):
    date: date
    items: list[OccupancyRow]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
