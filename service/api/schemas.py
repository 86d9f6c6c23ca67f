"""Request and response schemas of the leasing core (`Lease`, `LeaseCreate`, ...)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain.rules.money import CURRENCIES, is_currency
from domain.rules.timezones import is_site_timezone, site_timezones

T = TypeVar("T")

# ---- strict field types: what the schema says is exactly what the server accepts ------------
# Pydantic's lax mode would take `true` as 1, `"100"` as 100 and `1700000000` as a date; these
# types take a JSON integer, a JSON boolean, a `YYYY-MM-DD` string, and say so in the OpenAPI schema.
# (The admin's forms parse text into the same models with `strict=False`.)

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2200, 12, 31)
# the years 2000-2200, so that the bounds are in the schema too (`format: date` has no minimum)
_YEAR = r"(2[01][0-9]{2}|2200)"
DATE_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DATETIME_PATTERN = (
    rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
PERIOD_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# one line, no surrounding blanks
# (explicit classes: `\\s` and `.` differ between ECMAScript, which reads the schema, and the server's regex)
_EDGE = r"[^\x00\t\n\v\f\r \x85\xa0]"
LINE_PATTERN = rf"^{_EDGE}([^\x00\n\r]*{_EDGE})?$"
# free text: anything PostgreSQL can store (no NUL character)
TEXT_PATTERN = r"^[^\x00]*$"


def _text_only(pattern: str, what: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str):
            if not compiled.fullmatch(value):
                raise ValueError(f"{what}")
            return value
        if isinstance(value, (date, time, Decimal)) and not isinstance(value, bool):
            return value  # already parsed (Python callers)
        raise ValueError(f"{what} (a string)")

    return BeforeValidator(check)


def _not_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("a date without a time")
    return value


SafeDate = Annotated[
    date,
    BeforeValidator(_not_datetime),
    _text_only(DATE_PATTERN, "a date YYYY-MM-DD between 2000-01-01 and 2200-12-31"),
    Field(json_schema_extra={"pattern": DATE_PATTERN}),  # the pattern bounds the years: DATE_MIN..DATE_MAX
]
SafeDateTime = Annotated[
    datetime,
    _text_only(DATETIME_PATTERN, "an RFC 3339 date-time with its offset, years 2000-2200"),
    Field(json_schema_extra={"pattern": DATETIME_PATTERN}),
]
HourMinute = Annotated[
    time,
    _text_only(HHMM_PATTERN, "a time HH:MM"),
    WithJsonSchema({"type": "string", "pattern": HHMM_PATTERN, "examples": ["06:00"]}),
]


def _integral_float(value: Any) -> Any:
    """JSON Schema's `integer` includes `3.0`: take it as 3 (the field stays strict otherwise)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral_float)
Coord = Annotated[int, Field(strict=True, ge=0, le=10000), INTEGRAL]
SeatCount = Annotated[int, Field(strict=True, ge=1, le=2000), INTEGRAL]
Money = Annotated[int, Field(strict=True, ge=0, le=10**13, description="integer minor units"), INTEGRAL]
SeatIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=2000, json_schema_extra={"uniqueItems": True})]


def _one_of(a: str, b: str) -> dict[str, Any]:
    """Exactly one of two fields is given (not null); the other is left out or null."""

    def given(name: str) -> dict[str, Any]:
        return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}

    return {"oneOf": [given(a), given(b)]}


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
TAX_RATE_PATTERN = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"
PERCENT_PATTERN = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"


def _decimal_text(pattern: str, maximum: int, places: int, example: str) -> Any:
    """A decimal written as a JSON string (floats round), within 0..maximum, at most `places` decimals."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            raise ValueError(f'a decimal written as a string, e.g. "{example}"')
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            raise ValueError(f'a decimal number written like "{example}"')
        if Decimal(value) > maximum:
            raise ValueError(f"should be less than or equal to {maximum}")
        if not compiled.fullmatch(value):
            raise ValueError(f"at most {places} decimal places, no leading zeros")
        return value

    return BeforeValidator(check)


TaxRate = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=6, decimal_places=4),
    _decimal_text(TAX_RATE_PATTERN, 1, 4, "0.12"),
    WithJsonSchema({"type": "string", "pattern": TAX_RATE_PATTERN, "examples": ["0.12"]}),
]
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    _decimal_text(PERCENT_PATTERN, 100, 2, "12.5"),
    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["5"]}),
]
Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, description="an active ISO 4217 code", json_schema_extra={"enum": list(CURRENCIES)}),
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


# special-use names (RFC 6761 and friends) take no mail: refused, and the schema says so
SPECIAL_USE_EMAIL_DOMAIN = (
    r"[@.](" + "|".join(_any_case(d) for d in ("arpa", "invalid", "local", "localhost", "onion", "test")) + r")\.?$"
)
Email = Annotated[EmailStr, Field(json_schema_extra={"not": {"pattern": SPECIAL_USE_EMAIL_DOMAIN}})]


TimeZone = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"enum": list(site_timezones())})]


class _OmitNull:
    """Marks an optional field that is left out rather than sent as null: its schema has no null."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: Any) -> JsonSchemaValue:
        schema = dict(handler(core_schema))
        variants = [v for v in schema.pop("anyOf", []) if v != {"type": "null"}]
        if len(variants) == 1:
            schema = {**variants[0], **schema}
        elif variants:
            schema["anyOf"] = variants
        return schema


Omittable = Annotated[T | None, _OmitNull()]


class FieldError(ValueError):
    """A model-level check that knows which field is at fault (named in the problem+json)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Strict(BaseModel):
    """A request body: unknown fields refused; an `Omittable[X]` field may be left out but is never
    `null` (the schema says so, and so does the server)."""

    model_config = ConfigDict(extra="forbid")
    _omit_only: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._omit_only = frozenset(name for name, f in cls.model_fields.items() if _skips_null(f))

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in cls._omit_only:
                if name in data and data[name] is None:
                    raise FieldError(name, "leave the field out instead of sending null")
        return data


def _skips_null(field: Any) -> bool:
    return any(isinstance(m, _OmitNull) for m in field.metadata)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


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


# ---- leases ------------------------------------------------------------------------


class AddOnIn(Strict):
    code: Code
    quantity: Annotated[int, INTEGRAL] = Field(strict=True, ge=1, le=10000)


class AddOn(BaseModel):
    code: str
    name: str
    billing: str
    unit_price_minor: int
    quantity: int


class LeaseCreate(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of("seat_count", "seat_ids"))

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
    model_config = ConfigDict(json_schema_extra=_one_of("seat_count", "seat_ids"))

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
