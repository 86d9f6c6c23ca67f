"""Payments' request and response schemas (issue 12): recording money received and what it pays,
voiding it, applying and refunding a client's credit balance, withholding certificates; from the
API's body and the admin's forms alike."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.schemas import INTEGRAL, LINE_PATTERN, TEXT_PATTERN, Currency, Omittable, SafeDate, Strict

PositiveMoney = Annotated[int, Field(strict=True, gt=0, le=10**13, description="integer minor units"), INTEGRAL]
Money = Annotated[int, Field(strict=True, ge=0, le=10**13, description="integer minor units"), INTEGRAL]
Reference = Annotated[str, Field(max_length=255, pattern=TEXT_PATTERN)]
# what finance records by hand; Stripe's payments arrive through the webhook only
RecordedMethod = Literal["bank_transfer", "cheque", "cash", "card"]
METHOD_LABELS = (("bank_transfer", "Bank transfer"), ("cheque", "Cheque"), ("cash", "Cash"), ("card", "Card (terminal)"))


class AllocationIn(Strict):
    """A part of the payment applied to one of the client's open invoices of its currency."""

    invoice_id: uuid.UUID
    amount_minor: Money
    withheld_minor: Omittable[Money] = Field(
        default=None,
        description="tax the client withheld on this invoice; left out, it is the client's withholding rate × the "
        "invoice's amount before tax when the amount is short by exactly that",
    )


class PaymentCreate(Strict):
    client_id: uuid.UUID
    method: RecordedMethod
    amount_minor: PositiveMoney
    currency: Currency
    paid_on: SafeDate = Field(description="the day the money counts: the transfer's value date, or a cheque's date")
    received_on: Omittable[SafeDate] = Field(default=None, description="when it reached finance (default: today)")
    reference: Reference = Field(default="", description="bank reference or cheque number")
    allocations: list[AllocationIn] | None = Field(
        default=None,
        max_length=500,
        description="left out: the client's open invoices of the currency, oldest due first; [] keeps it all as credit",
    )


class PaymentVoid(Strict):
    reason: str = Field(min_length=1, max_length=500, pattern=LINE_PATTERN)


class CreditApply(Strict):
    currency: Currency
    allocations: list[AllocationIn] | None = Field(default=None, max_length=500, description="left out: oldest due first")


class RefundCreate(Strict):
    currency: Currency
    amount_minor: PositiveMoney
    refunded_on: Omittable[SafeDate] = None
    method: RecordedMethod = "bank_transfer"
    reference: Reference = ""


class CertificateCreate(Strict):
    year: Annotated[int, Field(strict=True, ge=2000, le=2200), INTEGRAL]
    quarter: Annotated[int, Field(strict=True, ge=1, le=4), INTEGRAL]
    received_on: SafeDate
    reference: Reference = Field(default="", description="the certificate's reference (BIR Form 2307)")


# ---- responses ---------------------------------------------------------------------------------


class AllocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str | None = None
    amount_minor: int
    withheld_minor: int
    allocated_on: date


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_id: uuid.UUID
    method: str
    status: str
    amount_minor: int
    currency: str
    paid_on: date
    received_on: date | None
    reference: str
    source_ref: str | None
    voided_on: date | None = Field(default=None, description="the day it was voided (site calendar); null unless void")
    allocated_minor: int
    unallocated_minor: int
    created_at: datetime
    allocations: list[AllocationOut] = []


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    next_cursor: str | None = None


class CreditBalanceOut(BaseModel):
    currency: str
    outstanding_minor: int = Field(description="what the client's issued invoices still ask for (cleared payments only)")
    credit_minor: int = Field(description="received and not allocated, less refunds: the client's credit balance")
    held_minor: int = Field(description="post-dated cheques held until their date")
    balance_minor: int = Field(description="outstanding − credit: what the client owes (negative: what we owe it)")
    withheld_minor: int = Field(description="tax withheld on cleared payments, all quarters")


class ClientBalanceOut(BaseModel):
    client_id: uuid.UUID
    currencies: list[CreditBalanceOut]


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    amount_minor: int
    refunded_on: date
    method: str
    reference: str


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_id: uuid.UUID
    year: int
    quarter: int
    received_on: date
    reference: str


class MissingCertificate(BaseModel):
    client_id: uuid.UUID
    legal_name: str
    year: int
    quarter: int
    currency: str
    withheld_minor: int
    payments: int


class MissingCertificates(BaseModel):
    items: list[MissingCertificate]
