"""Request and response schemas of the API (the leasing ones live in domain/leasing/schemas.py)."""

from __future__ import annotations

import uuid
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

# the leasing schemas live with their aggregate, the strict field types and base models in domain;
# re-exported here so that every edge keeps one import
from domain.leasing.schemas import AddOn as AddOn
from domain.leasing.schemas import AddOnIn as AddOnIn
from domain.leasing.schemas import Assignment as Assignment
from domain.leasing.schemas import AssignmentOut as AssignmentOut
from domain.leasing.schemas import Lease as Lease
from domain.leasing.schemas import LeaseCreate as LeaseCreate
from domain.leasing.schemas import LeaseEnd as LeaseEnd
from domain.leasing.schemas import LeaseSeatPeriod as LeaseSeatPeriod
from domain.leasing.schemas import SeatBrief as SeatBrief
from domain.leasing.schemas import SeatsAdd as SeatsAdd
from domain.rules.money import CURRENCIES as CURRENCIES
from domain.rules.money import is_currency
from domain.rules.timezones import is_site_timezone
from domain.schemas import DATE_MAX as DATE_MAX
from domain.schemas import DATE_MIN as DATE_MIN
from domain.schemas import DATE_PATTERN as DATE_PATTERN
from domain.schemas import DATETIME_PATTERN as DATETIME_PATTERN
from domain.schemas import HHMM_PATTERN as HHMM_PATTERN
from domain.schemas import INTEGRAL as INTEGRAL
from domain.schemas import LINE_PATTERN as LINE_PATTERN
from domain.schemas import PERCENT_PATTERN as PERCENT_PATTERN
from domain.schemas import PERIOD_PATTERN as PERIOD_PATTERN
from domain.schemas import SPECIAL_USE_EMAIL_DOMAIN as SPECIAL_USE_EMAIL_DOMAIN
from domain.schemas import TAX_RATE_PATTERN as TAX_RATE_PATTERN
from domain.schemas import TEXT_PATTERN as TEXT_PATTERN
from domain.schemas import UUID_PATTERN as UUID_PATTERN
from domain.schemas import Code as Code
from domain.schemas import Coord as Coord
from domain.schemas import Currency as Currency
from domain.schemas import Email as Email
from domain.schemas import FieldError as FieldError
from domain.schemas import HourMinute as HourMinute
from domain.schemas import Money as Money
from domain.schemas import Name as Name
from domain.schemas import Omittable as Omittable
from domain.schemas import Out as Out
from domain.schemas import Page as Page
from domain.schemas import Percent as Percent
from domain.schemas import SafeDate as SafeDate
from domain.schemas import SafeDateTime as SafeDateTime
from domain.schemas import SeatCount as SeatCount
from domain.schemas import SeatIds as SeatIds
from domain.schemas import Strict as Strict
from domain.schemas import T as T
from domain.schemas import TaxRate as TaxRate
from domain.schemas import TimeZone as TimeZone
from domain.schemas import one_of as _one_of

# ---- sites, floors, shifts, seats -------------------------------------------------


def _check_timezone(v: str) -> str:
    if not is_site_timezone(v):
        raise ValueError("not an IANA time zone")
    return v


def _check_currency(v: str) -> str:
    if not is_currency(v):
        raise ValueError("not an active ISO 4217 currency code (e.g. PHP, USD, EUR)")
    return v


class SiteCreate(Strict):
    code: Code
    name: Name
    address: str = Field(default="", max_length=500, pattern=TEXT_PATTERN)
    timezone: TimeZone
    currency: Currency
    tax_rate: TaxRate

    _tz = field_validator("timezone")(_check_timezone)
    _currency = field_validator("currency")(_check_currency)


class SiteUpdate(Strict):
    name: Omittable[Name] = None
    address: Omittable[str] = Field(default=None, max_length=500, pattern=TEXT_PATTERN)
    timezone: Omittable[TimeZone] = None
    tax_rate: Omittable[TaxRate] = None

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
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=LINE_PATTERN)]
    level: Annotated[int, INTEGRAL] = Field(default=0, strict=True, ge=-10, le=300)


class Floor(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    name: str
    level: int


class ShiftCreate(Strict):
    code: Code
    name: str = Field(default="", max_length=100, pattern=TEXT_PATTERN)
    starts_at: HourMinute
    ends_at: HourMinute


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
    model_config = ConfigDict(json_schema_extra=_one_of("labels", "label"))

    labels: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)]],
            Field(min_length=1, max_length=2000, json_schema_extra={"uniqueItems": True}),
        ]
        | None
    ) = None
    label: Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)] | None = None
    x: Coord | None = None
    y: Coord | None = None
    columns: Annotated[int, INTEGRAL] = Field(
        default=10, strict=True, ge=1, le=200, description="seats per row when laying out a bulk create"
    )

    @model_validator(mode="after")
    def _one_or_many(self) -> SeatCreate:
        if (self.labels is None) == (self.label is None):
            raise FieldError("labels", "give either labels (bulk) or label (one seat)")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise FieldError("labels", "labels must be unique")
        return self


class SeatUpdate(Strict):
    status: Omittable[SeatStatus] = None
    zone: Omittable[Code] = None
    x: Omittable[Coord] = None
    y: Omittable[Coord] = None


class Seat(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    floor_id: uuid.UUID
    zone: str
    label: str
    x: int
    y: int
    status: str


class Availability(BaseModel):
    free_count: int
    seats: list[SeatBrief]


# ---- plans -------------------------------------------------------------------------


class InclusionIn(Strict):
    # an included item (the default) has no unit price
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"billing": {"const": "included"}}},
            "then": {"properties": {"unit_price_minor": {"const": 0}}},
        }
    )

    code: Code
    name: Name
    kind: Literal["power", "internet", "device", "facility", "software"]
    billing: Literal["included", "monthly", "one_time"] = "included"
    unit_price_minor: Money = 0
    device_kind: Code | None = None
    quantity_per_seat: Annotated[int, INTEGRAL] = Field(default=1, strict=True, ge=1, le=20)

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
    deposit_months: Annotated[int, INTEGRAL] = Field(default=0, strict=True, ge=0, le=12)
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
    billing_email: Email
    tax_id: str = Field(default="", max_length=64, pattern=TEXT_PATTERN)
    payment_terms_days: Annotated[int, INTEGRAL] = Field(default=30, strict=True, ge=0, le=365)


class ClientUpdate(Strict):
    """Staff only. ``seat_cap``: the most seats the client's own bookings may hold; null = the default."""

    legal_name: Omittable[Name] = None
    billing_email: Omittable[Email] = None
    tax_id: Omittable[str] = Field(default=None, max_length=64, pattern=TEXT_PATTERN)
    payment_terms_days: Omittable[Annotated[int, Field(strict=True, ge=0, le=365), INTEGRAL]] = None
    seat_cap: Annotated[int, Field(strict=True, ge=0, le=1_000_000), INTEGRAL] | None = None


class Client(Out):
    id: uuid.UUID
    legal_name: str
    billing_email: str
    tax_id: str
    payment_terms_days: int
    stripe_customer_id: str | None = None
    seat_cap: int | None = None


class ClientUserCreate(Strict):
    email: Email
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
    email: Email
    employee_id: str = Field(default="", max_length=64, pattern=TEXT_PATTERN)


class Member(Out):
    id: uuid.UUID
    client_id: uuid.UUID
    team_id: uuid.UUID
    name: str
    email: str
    employee_id: str
    active: bool


# ---- devices -----------------------------------------------------------------------

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
