"""Clients' request and response schemas (clients, their logins, teams and members): one input model
per use-case of domain/services/clients.py, from the API's body and the admin's forms alike."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from domain.schemas import INTEGRAL, TEXT_PATTERN, Email, Name, Omittable, Out, Strict


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
    # --- tax treatment (issue 12): staff and finance; zero_rated/exempt need the reason and certificate ---
    tax_treatment: Omittable[Literal["standard", "zero_rated", "exempt"]] = Field(
        default=None, description="standard: the site's rate; zero_rated or exempt: no tax, with the reason and certificate"
    )
    tax_exemption_reason: Omittable[str] = Field(
        default=None, max_length=300, pattern=TEXT_PATTERN, examples=["PEZA-registered ecozone IT enterprise"]
    )
    tax_certificate_ref: Omittable[str] = Field(default=None, max_length=100, pattern=TEXT_PATTERN, examples=["PEZA-2026-00123"])


# --- tax treatment (issue 12): the fields finance may change on a client (staff may change them all) ---
FINANCE_CLIENT_FIELDS = frozenset({"tax_treatment", "tax_exemption_reason", "tax_certificate_ref"})


class Client(Out):
    id: uuid.UUID
    legal_name: str
    billing_email: str
    tax_id: str
    payment_terms_days: int
    stripe_customer_id: str | None = None
    seat_cap: int | None = None
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
