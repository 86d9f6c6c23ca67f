"""Billing: runs, invoices and their lines, credit notes, payments, Stripe webhook events,
per-issuer number sequences. Money is integer minor units with the currency beside it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class InvoiceKind(StrEnum):
    """A monthly run's invoice (one per client, site and period) or a one-off raised by finance."""

    RUN = "run"
    ONE_OFF = "one_off"


class TaxTreatment(StrEnum):
    """How a client (and each line) is taxed: the site's standard rate, zero-rated or exempt (with the
    reason and the certificate reference, e.g. a PEZA-registered client)."""

    STANDARD = "standard"
    ZERO_RATED = "zero_rated"
    EXEMPT = "exempt"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"
    CASH = "cash"
    CARD = "card"
    STRIPE = "stripe"


class PaymentStatus(StrEnum):
    """A post-dated cheque is `held` until its date and counts for nothing until it clears."""

    HELD = "held"
    CLEARED = "cleared"
    VOID = "void"


class StripeState(StrEnum):
    """Where the push of a row to Stripe stands; 'pending' rows are claimed by the worker."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    VOID_PENDING = "void_pending"


class DocumentKind(StrEnum):
    """What a number sequence numbers."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class BillingRunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class InvoiceLineKind(StrEnum):
    SEAT = "seat"
    ADDON = "addon"
    ADDON_ONE_TIME = "addon_one_time"
    INCLUSION = "inclusion"
    SETUP_FEE = "setup_fee"
    DEPOSIT = "deposit"
    DISCOUNT = "discount"
    CANCELLATION_FEE = "cancellation_fee"
    CREDIT_TRANSFER = "credit_transfer"
    TERMINATION_FEE = "termination_fee"  # a one-off charge (issue 11)
    ONE_OFF = "one_off"  # a line finance adds by hand, with its reason (issue 12)


class CreditNoteStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ISSUED = "issued"
    REJECTED = "rejected"


class CreditNoteKind(StrEnum):
    MANUAL = "manual"
    DEPOSIT_REFUND = "deposit_refund"
    TRUEUP = "trueup"


class StripeEventState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


INVOICE_STATUSES: tuple[InvoiceStatus, ...] = tuple(InvoiceStatus)
SYNC_STATES: tuple[StripeState, ...] = tuple(StripeState)


class NumberSequence(Base):
    """The next gapless number of an issuer (a site) for invoices or credit notes.

    Issuing locks this row FOR UPDATE in the same transaction that issues the document, so a
    rolled-back issue gives its number back and no two documents share one."""

    __tablename__ = "billing_number_sequences"
    __table_args__ = (CheckConstraint(one_of("kind", DocumentKind), name="kind"),)

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class BillingRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "billing_runs"
    __table_args__ = (CheckConstraint(one_of("status", BillingRunStatus), name="status"),)

    period: Mapped[str] = mapped_column(String(7), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    clients_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clients_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    invoices_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    credit_notes_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Invoice(IdMixin, TimestampMixin, Base):
    """A run's invoice is one per client, issuing site and period: the identity that makes a run
    idempotent. A one-off invoice (kind `one_off`) stands outside that identity."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_client_id_site_id_period",
            "client_id",
            "site_id",
            "period",
            unique=True,
            postgresql_where=text("kind = 'run'"),
        ),
        UniqueConstraint("site_id", "number"),
        CheckConstraint(one_of("kind", InvoiceKind), name="kind"),
        CheckConstraint(one_of("status", InvoiceStatus), name="status"),
        CheckConstraint(f"status = '{InvoiceStatus.DRAFT}' OR number IS NOT NULL", name="numbered"),
        CheckConstraint(one_of("stripe_state", StripeState), name="stripe_state"),
        # an issued invoice never asks for a negative amount: excess credit goes to a credit note
        CheckConstraint(f"status = '{InvoiceStatus.DRAFT}' OR total_minor >= 0", name="total_not_negative"),
        Index(
            "ix_invoices_stripe_due",
            "stripe_next_attempt_at",
            postgresql_where=text("stripe_state IN ('pending','void_pending')"),
        ),
        # --- collections (issue 12): the reminder pass and the overdue list read open invoices by due date ---
        Index("ix_invoices_open_due", "due_date", postgresql_where=text("status IN ('issued', 'partially_paid')")),
        # --- API polish (issue 14): invoices listed newest issue first, paged on (issue_date, id) ---
        Index("ix_invoices_issue_date_id", "issue_date", "id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="run", server_default="run")
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    billing_run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("billing_runs.id"), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    payment_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    stripe_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    stripe_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stripe_next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=func.now()
    )
    stripe_last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stripe_amount_due: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Stripe's amount_due disagreed with our total: flagged for finance, never silently accepted
    stripe_mismatch: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # --- portal: invoices (issue 14): Stripe's hosted invoice page, where the client pays online ---
    stripe_hosted_url: Mapped[str | None] = mapped_column(Text, nullable=True)


class InvoiceLine(IdMixin, Base):
    """A line of an invoice. `service_month` and `kind` say what a line paid for, so that a later
    run can compare what was billed for a lease and month with what should have been (true-ups)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        CheckConstraint(one_of("kind", InvoiceLineKind), name="kind"),
        CheckConstraint(one_of("tax_treatment", TaxTreatment), name="tax_treatment"),
        Index("ix_invoice_lines_lease_month", "lease_id", "service_month"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    trueup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    lease_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leases.id"), nullable=True)
    service_month: Mapped[date | None] = mapped_column(Date, nullable=True)
    service_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    service_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    period_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    # seat-days (or unit-days) this line paid for; a true-up carries the difference
    units: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # how this line was taxed and at what rate (the site's standard rate, or 0 when zero-rated/exempt)
    tax_treatment: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    tax_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    # why finance added a one-off line, and who did
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class CreditNote(IdMixin, TimestampMixin, Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint("site_id", "number"),
        CheckConstraint(one_of("status", CreditNoteStatus), name="status"),
        CheckConstraint(one_of("kind", CreditNoteKind), name="kind"),
        CheckConstraint("amount_minor >= 0 AND tax_minor >= 0", name="positive"),
        CheckConstraint(one_of("stripe_state", StripeState), name="stripe_state"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    status: Mapped[str] = mapped_column(String(20))
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # "deposit:<lease id>" for the one refund of a lease's deposit, "trueup:<invoice id>:<corrected invoice id>"
    # for the excess true-up credit of an invoice: a re-run cannot credit twice
    dedupe_key: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    stripe_credit_note_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stripe_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    stripe_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stripe_next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, server_default=func.now()
    )
    stripe_last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # --- console (issue 13): a credit note waiting for approval is approved or rejected, with the reason ---
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Payment(IdMixin, TimestampMixin, Base):
    """Money received from a client (or, for Stripe, settled by Stripe), in one currency. What it
    pays is in its allocations; what is not allocated is the client's credit balance."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(one_of("method", PaymentMethod), name="method"),
        CheckConstraint(one_of("status", PaymentStatus), name="status"),
        CheckConstraint("amount_minor > 0", name="positive"),
        # --- payments (issue 12, 0022): held cheques due for clearing; a client's payments per currency ---
        Index("ix_payments_held_due", "paid_on", postgresql_where=text("status = 'held'")),
        Index("ix_payments_client_currency", "client_id", "currency"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # the day the money counts as received (a post-dated cheque: its date)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16), default="stripe", server_default="stripe")
    status: Mapped[str] = mapped_column(String(16), default="cleared", server_default="cleared")
    reference: Mapped[str] = mapped_column(String(255), default="", server_default="")
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # one payment per Stripe amount settled; a duplicate webhook cannot pay twice (NULL for payments recorded by hand)
    source_ref: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    # --- payment voids (0030): the void's day and the status it left (`cleared`: the journal posted
    # it, so it reverses it on that day; `held`: nothing was posted). NULL before 0030 or when not void.
    voided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    voided_from: Mapped[str | None] = mapped_column(String(16), nullable=True)


class PaymentAllocation(IdMixin, TimestampMixin, Base):
    """A part of a payment (or of a client's credit balance) applied to one invoice. `withheld_minor`
    is tax the client withheld on that invoice (creditable, awaiting its certificate): it settles
    the invoice like cash."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0 AND withheld_minor >= 0 AND amount_minor + withheld_minor > 0", name="positive"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    withheld_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    allocated_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class CreditRefund(IdMixin, TimestampMixin, Base):
    """Part of a client's credit balance paid back to it."""

    __tablename__ = "credit_refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint(one_of("method", PaymentMethod), name="method"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class WithholdingCertificate(IdMixin, TimestampMixin, Base):
    """A client's certificate of tax withheld for a quarter (BIR Form 2307 in the Philippines), marked
    received by finance."""

    __tablename__ = "withholding_certificates"
    __table_args__ = (
        UniqueConstraint("client_id", "year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(255), default="", server_default="")
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


EVENT_STATES: tuple[StripeEventState, ...] = tuple(StripeEventState)


class StripeEvent(Base):
    """A webhook event, stored before it is handled (ARCHITECTURE.md convention 10).

    A verified, well-formed event is stored once by its id as `pending`; the worker claims it
    (FOR UPDATE SKIP LOCKED, `next_attempt_at` back-off), re-reads the invoice from Stripe and
    marks it `done` (or `failed` when Stripe refuses for good). A signed but malformed event is
    stored as `rejected`, keyed by a hash of its body, with the reason and nothing applied."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        CheckConstraint(one_of("state", StripeEventState), name="state"),
        Index("ix_stripe_events_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the start of a rejected body (what could not be parsed), for finance to look at; never the whole of it
    raw_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
