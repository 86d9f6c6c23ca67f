"""Clients' request and response schemas (clients, their logins, teams and members): one input model
per use-case of domain/services/clients.py, from the API's body and the admin's forms alike."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, field_validator

from domain.schemas import INTEGRAL, TEXT_PATTERN, Email, Name, Omittable, Out, Strict
from domain.schemas import _decimal_text as decimal_text

# --- withholding (issue 12, payments) ---
WITHHOLDING_RATE_PATTERN = r"^0(\.[0-9]{1,4})?$"
# the share of an invoice's amount before tax the client withholds (0.05 = 5% expanded withholding tax)
WithholdingRate = Annotated[
    Decimal,
    Field(ge=0, lt=1, max_digits=5, decimal_places=4),
    decimal_text(WITHHOLDING_RATE_PATTERN, 1, 4, "0.05"),
    WithJsonSchema({"type": "string", "pattern": WITHHOLDING_RATE_PATTERN, "examples": ["0.05"]}),
]


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
    # --- withholding (issue 12, payments): finance sets it; "0" = the client withholds nothing ---
    withholding_rate: Omittable[WithholdingRate] = None
    # --- collections (issue 12): finance may set this one (and only this one) too ---
    dunning_excluded: Omittable[Annotated[bool, Field(strict=True)]] = Field(
        default=None, description="true: no payment reminders to this client (admin, facility_staff, finance)"
    )
    # --- end collections ---
    # --- tax treatment (issue 12): staff and finance; zero_rated/exempt need the reason and certificate ---
    tax_treatment: Omittable[Literal["standard", "zero_rated", "exempt"]] = Field(
        default=None, description="standard: the site's rate; zero_rated or exempt: no tax, with the reason and certificate"
    )
    tax_exemption_reason: Omittable[str] = Field(
        default=None, max_length=300, pattern=TEXT_PATTERN, examples=["PEZA-registered ecozone IT enterprise"]
    )
    tax_certificate_ref: Omittable[str] = Field(default=None, max_length=100, pattern=TEXT_PATTERN, examples=["PEZA-2026-00123"])


# --- issue 12: the fields finance may change on a client; of them, facility staff may not change the
# withholding rate nor the exclusion from reminders (finance's and admins' decisions) ---
FINANCE_ONLY_CLIENT_FIELDS = frozenset({"withholding_rate", "dunning_excluded"})
FINANCE_CLIENT_FIELDS = frozenset({"tax_treatment", "tax_exemption_reason", "tax_certificate_ref"}) | FINANCE_ONLY_CLIENT_FIELDS


class Client(Out):
    id: uuid.UUID
    legal_name: str
    billing_email: str
    tax_id: str
    payment_terms_days: int
    stripe_customer_id: str | None = None
    seat_cap: int | None = None
    # --- withholding (issue 12, payments): a decimal string, as sites' tax_rate ("0.05", "0") ---
    withholding_rate: str = "0"

    @field_validator("withholding_rate", mode="before")
    @classmethod
    def _withholding(cls, v: Any) -> str:
        return format(Decimal(v).normalize(), "f") if not isinstance(v, str) else v

    # --- collections (issue 12) ---
    dunning_excluded: bool = False
    # --- end collections ---
    # --- tax treatment (issue 12) ---
    tax_treatment: str = "standard"
    tax_exemption_reason: str = ""
    tax_certificate_ref: str = ""


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
