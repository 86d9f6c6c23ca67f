"""Downtime credits' API shapes (issue 15)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from domain.schemas import Strict


class AffectedSeatIn(Strict):
    seat_id: uuid.UUID = Field(description="a seat of the ticket's site the outage also took down")


class DowntimeLineOut(BaseModel):
    seat_id: uuid.UUID
    seat_label: str
    shift: str
    period: str = Field(description="the site-local month, YYYY-MM")
    hours_lost: str = Field(description="leased hours lost in that month (decimal string)")
    month_leased_hours: str = Field(description="the hours the seat is leased in that month (decimal string)")
    monthly_price_minor: int
    amount_minor: int


class CreditNoteBrief(BaseModel):
    id: uuid.UUID
    status: str = Field(description="pending_approval (above SEATLEASE_CREDIT_APPROVAL_MINOR) or issued")
    number_label: str | None
    amount_minor: int
    tax_minor: int
    total_minor: int


class DowntimeCreditOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    lease_id: uuid.UUID
    client_id: uuid.UUID
    period: str = Field(description="the month whose invoice is credited: the month the outage began")
    currency: str
    hours_lost: str
    amount_minor: int = Field(description="before tax; the credit note adds the invoice's tax")
    status: str = Field(description="awaiting_invoice (the month's invoice is not issued yet), credited or no_credit")
    note: str
    invoice_id: uuid.UUID | None
    invoice_number: str | None
    credit_note: CreditNoteBrief | None
    lines: list[DowntimeLineOut]
    created_at: datetime


class TicketCreditsOut(BaseModel):
    ticket_id: uuid.UUID
    affected_seat_ids: list[uuid.UUID] = Field(description="the ticket's seat and the seats staff added")
    credits: list[DowntimeCreditOut]
