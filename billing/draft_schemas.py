"""Request schemas of drafts and one-off invoices (issue 12): a one-off line, a one-off invoice, a bulk
issue; from the API's body and the admin's forms alike (the responses are billing/read_models.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from domain.schemas import INTEGRAL, TEXT_PATTERN, Strict

TaxTreatmentName = Literal["standard", "zero_rated", "exempt"]


class OneOffLineCreate(Strict):
    """A charge finance adds by hand: a damaged headset, an extra service. Reductions are credit notes
    once the invoice is issued, so a one-off line charges (its unit price is not negative)."""

    description: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN, examples=["Replacement headset (damaged)"])
    quantity: Annotated[int, Field(strict=True, ge=1, le=100_000), INTEGRAL] = 1
    unit_price_minor: Annotated[int, Field(strict=True, ge=0, le=10**12), INTEGRAL] = Field(
        description="price of one unit in the site's currency, in minor units (centavos), before tax"
    )
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN, description="why the line is charged (audited)")
    lease_id: uuid.UUID | None = Field(default=None, description="the client's lease the charge is about, if any")
    tax_treatment: TaxTreatmentName | None = Field(
        default=None, description="how the line is taxed; omitted: the client's treatment (the site's rate when standard)"
    )


class OneOffInvoiceCreate(Strict):
    client_id: uuid.UUID
    site_id: uuid.UUID = Field(description="the issuing site: its currency, tax rate, calendar and number sequence")
    lines: list[OneOffLineCreate] = Field(min_length=1, max_length=100)
    issue: bool = Field(default=True, description="issue at once (numbered, dated today); false keeps it as a draft")


class IssueDrafts(Strict):
    invoice_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000, description="the drafts to issue, in any order")
