"""Billing's request schemas: queueing a run, crediting an invoice, voiding one; from the API's body and
the admin's forms alike (the responses are billing/read_models.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.schemas import PERIOD_PATTERN, TEXT_PATTERN

Period = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["2031-01"])]


class BillingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: Period


class CreditNoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)
    amount_minor: int | None = Field(
        default=None, gt=0, le=10**15, description="credit before tax; omit to credit the whole remaining invoice"
    )


class CreditNoteReject(BaseModel):
    """Why a credit note waiting for approval is refused (issue 13): kept on the note and shown."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*\S[^\x00]*$")


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="voided", min_length=1, max_length=500, pattern=TEXT_PATTERN)
