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
    # --- collections (issue 12): finance may set this one (and only this one) too ---
    dunning_excluded: Omittable[Annotated[bool, Field(strict=True)]] = Field(
        default=None, description="true: no payment reminders to this client (admin, facility_staff, finance)"
    )
    # --- end collections ---


class Client(Out):
    id: uuid.UUID
    legal_name: str
    billing_email: str
    tax_id: str
    payment_terms_days: int
    stripe_customer_id: str | None = None
    seat_cap: int | None = None
    # --- collections (issue 12) ---
    dunning_excluded: bool = False
    # --- end collections ---


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
