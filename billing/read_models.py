"""How billing's documents read from outside: typed read-models validated from the ORM rows.

The public names differ from the columns in two places: an invoice's or credit note's `number` is
its label ("HQ-000042") and an invoice's `sequence` is the integer behind it. The aliases accept the
column name (from an ORM row) and the public name (from a dump of the model itself, as an
idempotent replay or a response re-validation makes), in that order for `number`, so a dump never
reads the label as the sequence."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from domain.models.invoice import Invoice, InvoiceLine


class BillingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    period: str
    status: str
    clients_total: int
    clients_done: int
    invoices_count: int
    credit_notes_count: int
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    position: int
    kind: str
    trueup: bool
    lease_id: uuid.UUID | None
    description: str
    quantity: int
    unit_price_minor: int
    days: int | None
    period_days: int | None
    service_start: date | None
    service_end: date | None
    amount_minor: int
    tax_minor: int
    # --- tax treatment, one-off lines (issue 12) ---
    service_month: date | None = None
    tax_treatment: str = "standard"
    tax_rate: Decimal | None = Field(default=None, description="the rate applied to the line (0 when zero-rated or exempt)")
    reason: str | None = Field(default=None, description="why finance added a one-off line")
    created_by: uuid.UUID | None = None


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: str | None = Field(validation_alias=AliasChoices("number_label", "number"))
    sequence: int | None = Field(validation_alias=AliasChoices("sequence", "number"))
    client_id: uuid.UUID
    site_id: uuid.UUID
    period: str
    status: str
    currency: str
    issue_date: date | None
    due_date: date | None
    issued_at: datetime | None
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    paid_at: datetime | None
    payment_failed_at: datetime | None
    voided_at: datetime | None
    stripe_invoice_id: str | None
    stripe_state: str
    stripe_mismatch: bool
    lines: list[InvoiceLineOut] | None = None
    # --- drafts and one-off invoices (issue 12) ---
    kind: str = Field(default="run", description="`run`: a monthly run's invoice; `one_off`: raised by finance")
    billing_run_id: uuid.UUID | None = None
    # --- client portal (issue 14): where the client pays online ---
    hosted_invoice_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("stripe_hosted_url", "hosted_invoice_url"),
        description="Stripe's hosted page where the client pays this invoice online; null until the invoice is "
        "finalized in Stripe (and always with Stripe off)",
    )

    @classmethod
    def of(cls, inv: Invoice, lines: Iterable[InvoiceLine] | None = None) -> InvoiceOut:
        """The invoice, with its lines when given (the list leaves them out: `lines` is null there)."""
        out = cls.model_validate(inv)
        if lines is not None:
            out.lines = [InvoiceLineOut.model_validate(x) for x in lines]
        return out


class InvoicePage(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None = None


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: str | None = Field(validation_alias=AliasChoices("number_label", "number"))
    kind: str
    status: str
    reason: str
    currency: str
    amount_minor: int
    tax_minor: int
    total_minor: int
    issue_date: date | None
    stripe_credit_note_id: str | None
    # --- approvals (issue 13) ---
    created_by: uuid.UUID | None = None
    approved_by: uuid.UUID | None = None
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None


# --- drafts and one-off invoices (issue 12) ---
class DraftRow(BaseModel):
    """A draft awaiting review: whom it bills, where, and its totals."""

    id: uuid.UUID
    kind: str
    period: str
    client_id: uuid.UUID
    client_name: str
    site_id: uuid.UUID
    site_code: str
    currency: str
    lines: int
    one_off_lines: int
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    billing_run_id: uuid.UUID | None


class DraftTotal(BaseModel):
    currency: str
    drafts: int
    subtotal_minor: int
    tax_minor: int
    total_minor: int


class DraftList(BaseModel):
    """The drafts of a run or a period (or all of them), with their totals per currency (never summed across currencies)."""

    items: list[DraftRow]
    totals: list[DraftTotal]
