"""The catalog's request and response schemas (sites, floors, shifts, seats, plans): one input model
per use-case of domain/services/catalog.py, from the API's body and the admin's forms alike."""

from __future__ import annotations

import uuid
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from domain.rules.money import is_currency
from domain.rules.timezones import is_site_timezone
from domain.schemas import (
    INTEGRAL,
    LINE_PATTERN,
    TEXT_PATTERN,
    Code,
    Coord,
    Currency,
    FieldError,
    HourMinute,
    Money,
    Name,
    Omittable,
    Out,
    Strict,
    TaxRate,
    TimeZone,
    one_of,
)


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
    # --- set-up pages (issue 13): the issuing entity may be named when the site is created ---
    legal_name: str = Field(default="", max_length=300, pattern=rf"^({LINE_PATTERN[1:-1]})?$")
    tax_id: str = Field(default="", max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9 ./-]*[A-Za-z0-9])?$")
    invoice_footer: str = Field(default="", max_length=2000, pattern=TEXT_PATTERN)
    tax_label: str = Field(default="VAT", min_length=1, max_length=32, pattern=LINE_PATTERN)

    _tz = field_validator("timezone")(_check_timezone)
    _currency = field_validator("currency")(_check_currency)


class SiteUpdate(Strict):
    # --- set-up pages (issue 13): code and currency, while nothing is booked or priced on the site ---
    code: Omittable[Code] = Field(default=None, description="changes only while the site has no lease")
    currency: Omittable[Currency] = Field(default=None, description="changes only while the site has no plan and no lease")
    name: Omittable[Name] = None
    address: Omittable[str] = Field(default=None, max_length=500, pattern=TEXT_PATTERN)
    timezone: Omittable[TimeZone] = None
    tax_rate: Omittable[TaxRate] = None
    # --- the issuing entity printed on every invoice, credit note and statement (issue 12) ---
    legal_name: Omittable[str] = Field(
        default=None, min_length=1, max_length=300, pattern=LINE_PATTERN, description="the issuing company's legal name"
    )
    tax_id: Omittable[str] = Field(
        default=None, max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9 ./-]*[A-Za-z0-9])?$", description="e.g. 123-456-789-000"
    )
    invoice_footer: Omittable[str] = Field(
        default=None, max_length=2000, pattern=TEXT_PATTERN, description="printed at the end of every invoice and credit note"
    )
    tax_label: Omittable[str] = Field(
        default=None, min_length=1, max_length=32, pattern=LINE_PATTERN, description='what the tax is called: "VAT", "Sales tax"'
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_timezone(v)

    @field_validator("currency")
    @classmethod
    def _cur(cls, v: str | None) -> str | None:
        return None if v is None else _check_currency(v)


class Site(Out):
    id: uuid.UUID
    code: str
    name: str
    address: str
    timezone: str
    currency: str
    tax_rate: str
    legal_name: str = ""
    tax_id: str = ""
    invoice_footer: str = ""
    tax_label: str = "VAT"

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
    model_config = ConfigDict(json_schema_extra=one_of("labels", "label"))

    labels: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)]],
            Field(min_length=1, max_length=2000, json_schema_extra={"uniqueItems": True}),
        ]
        | None
    ) = None
    label: Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)] | None = None
    x: Coord | None = Field(
        default=None, description="grid column on the floor of the (first) seat; none: below the floor's seats"
    )
    y: Coord | None = Field(default=None, description="grid row on the floor of the (first) seat; none: below the floor's seats")
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
    # --- terms (issue 11): the notice period a new lease copies unless staff set one
    notice_days: Annotated[int, INTEGRAL] = Field(default=30, strict=True, ge=0, le=365)

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
    notice_days: int
