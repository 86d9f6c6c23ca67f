"""The strict field types and base models every aggregate's request and response schemas build on.

Pydantic's lax mode would take `true` as 1, `"100"` as 100 and `1700000000` as a date; these types
take a JSON integer, a JSON boolean, a `YYYY-MM-DD` string, and say so in the OpenAPI schema. (The
admin's forms parse text into the same models with `strict=False`.) They live in domain so that each
aggregate's schemas sit next to it (domain/leasing/schemas.py, domain/services/*_schemas.py, …).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, WithJsonSchema, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain.rules.money import CURRENCIES
from domain.rules.timezones import site_timezones

T = TypeVar("T")

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


def one_of(a: str, b: str) -> dict[str, Any]:
    """Exactly one of two fields is given (not null); the other is left out or null.

    Said as one `not` (neither both nor none), not as a top-level `oneOf`: a client generator
    (openapi-python-client) reads a top-level `oneOf` as a choice of two bodies of one field each and
    loses the model's other fields (issue 14: a generated client works)."""

    def given(name: str) -> dict[str, Any]:
        return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}

    both = {"allOf": [given(a), given(b)]}
    neither = {"allOf": [{"not": given(a)}, {"not": given(b)}]}
    return {"not": {"anyOf": [both, neither]}}


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
