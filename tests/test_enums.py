"""Statuses and roles are StrEnums, and the database's check constraints allow exactly their values.

The models build each constraint's text from its enum (domain.models.base.one_of); `alembic check`
does not compare check constraint texts, so this reads what the migrations actually created."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import asyncpg
import pytest

from domain.models import (
    ChargeKind,
    CredentialKind,
    CredentialState,
    DeviceStatus,
    GuardStatus,
    InclusionBilling,
    InclusionKind,
    LeaseStatus,
    Role,
    SeatStatus,
)
from domain.models.invoice import (
    BillingRunStatus,
    CreditNoteKind,
    CreditNoteStatus,
    DocumentKind,
    InvoiceKind,
    InvoiceLineKind,
    InvoiceStatus,
    PaymentMethod,
    PaymentStatus,
    StripeEventState,
    StripeState,
    TaxTreatment,
)
from domain.models.payment_sync import PaymentSyncState
from domain.models.user import CLIENT_ROLES, ROLES, STAFF_ROLES

CONSTRAINTS: list[tuple[str, type[StrEnum]]] = [
    ("ck_users_role", Role),
    ("ck_users_tenant", Role),
    ("ck_leases_status", LeaseStatus),
    ("ck_seats_status", SeatStatus),
    ("ck_devices_status", DeviceStatus),
    ("ck_credentials_kind", CredentialKind),
    ("ck_credentials_state", CredentialState),
    ("ck_revocation_guards_status", GuardStatus),
    ("ck_inclusions_kind", InclusionKind),
    ("ck_inclusions_billing", InclusionBilling),
    ("ck_one_off_charges_kind", ChargeKind),
    ("ck_billing_number_sequences_kind", DocumentKind),
    ("ck_billing_runs_status", BillingRunStatus),
    ("ck_invoices_status", InvoiceStatus),
    ("ck_invoices_stripe_state", StripeState),
    ("ck_invoice_lines_kind", InvoiceLineKind),
    ("ck_credit_notes_status", CreditNoteStatus),
    ("ck_credit_notes_kind", CreditNoteKind),
    ("ck_credit_notes_stripe_state", StripeState),
    ("ck_stripe_events_state", StripeEventState),
    ("ck_invoices_kind", InvoiceKind),
    ("ck_invoice_lines_tax_treatment", TaxTreatment),
    ("ck_clients_tax_treatment", TaxTreatment),
    ("ck_payments_method", PaymentMethod),
    ("ck_payments_status", PaymentStatus),
    ("ck_credit_refunds_method", PaymentMethod),
    ("ck_stripe_payment_syncs_state", PaymentSyncState),  # payments (issue 12)
]


@pytest.mark.parametrize(("name", "enum"), CONSTRAINTS, ids=[c for c, _ in CONSTRAINTS])
async def test_check_constraint_allows_exactly_the_enum(db: asyncpg.Pool, name: str, enum: type[StrEnum]) -> None:
    definition = await db.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", name)
    assert definition is not None, f"no constraint {name}"
    allowed = set(re.findall(r"'([a-z_]+)'", definition))
    expected = set(CLIENT_ROLES) if name == "ck_users_tenant" else set(enum)
    assert allowed == expected


def test_role_sets_are_the_enum() -> None:
    assert set(ROLES) == set(Role) == set(STAFF_ROLES) | set(CLIENT_ROLES)
    assert not set(STAFF_ROLES) & set(CLIENT_ROLES)
    assert "admin" in STAFF_ROLES  # a role from a token (a plain str) compares equal to its member


def test_the_api_accepts_exactly_the_enum_values() -> None:
    """The strict API schemas spell the values as Literals (a strict enum field would refuse the
    plain strings FastAPI hands it); they must stay the enums' values."""
    from typing import get_args

    from domain.services import catalog_schemas, client_schemas, device_schemas

    def literal(annotation: Any) -> set[str]:
        return {a for a in get_args(annotation) if isinstance(a, str)}

    assert literal(catalog_schemas.SeatStatus) == set(SeatStatus)
    assert literal(device_schemas.DeviceStatus) == set(DeviceStatus)
    assert literal(client_schemas.ClientUserCreate.model_fields["role"].annotation) == set(CLIENT_ROLES)
    assert literal(catalog_schemas.InclusionIn.model_fields["kind"].annotation) == set(InclusionKind)
    assert literal(catalog_schemas.InclusionIn.model_fields["billing"].annotation) == set(InclusionBilling)
