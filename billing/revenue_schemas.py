"""Revenue reports (issue 12, "revenue in view"): the range of months they cover and their
response schemas. Money is integer minor units with the currency beside it; no figure ever adds
two currencies (billing/revenue.py, billing/revenue_dims.py)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from billing.facts import Month
from domain.errors import ValidationFailed

MAX_MONTHS = 36
_MONTH = re.compile(r"^(2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$")

RevenueBy = Literal["site", "floor", "shift", "client"]


@dataclass(frozen=True)
class ReportRange:
    """Whole months, `first` to `last` inclusive (at most MAX_MONTHS of them)."""

    first: Month
    last: Month

    @property
    def months(self) -> list[Month]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = m.next()
        return out


def _month(value: str | None, field: str) -> Month:
    if value is None or not _MONTH.match(value):
        raise ValidationFailed(f"{field} is a month, YYYY-MM (2000-01 to 2200-12)", field=field)
    return Month.parse(value)


def parse_range(from_: str | None, to: str | None) -> ReportRange:
    """`from` and `to` (YYYY-MM, both included): 422 naming the field at fault."""
    first, last = _month(from_, "from"), _month(to, "to")
    if last < first:
        raise ValidationFailed("to is before from", field="to")
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if span > MAX_MONTHS:
        raise ValidationFailed(f"a report covers at most {MAX_MONTHS} months (this range has {span})", field="to")
    return ReportRange(first, last)


class MrrMonth(BaseModel):
    """One month's recurring revenue in one currency: what the leases in force at the previous
    month's end and at this month's end bill for a full month, and how it moved, client by client."""

    month: str
    currency: str
    mrr_start_minor: int
    new_minor: int
    expansion_minor: int
    contraction_minor: int
    churn_minor: int
    mrr_end_minor: int
    clients_end: int
    new_clients: int
    churned_clients: int


class MrrReport(BaseModel):
    from_month: str
    to_month: str
    currencies: list[str]
    items: list[MrrMonth]


class RevenueRow(BaseModel):
    """Revenue recognised for a service month in one currency, for one site, floor, shift or client
    (the keys of the other dimensions are null; a null floor or shift is revenue not attributable
    to one: a one-off invoice line, a credit note)."""

    month: str
    currency: str
    site_id: uuid.UUID | None = None
    site_code: str | None = None
    floor_id: uuid.UUID | None = None
    floor_name: str | None = None
    shift: str | None = None
    client_id: uuid.UUID | None = None
    client_name: str | None = None
    amount_minor: int


class RevenueReport(BaseModel):
    from_month: str
    to_month: str
    by: RevenueBy
    items: list[RevenueRow]
    totals: list[RevenueRow]


class OccupancyMonth(BaseModel):
    """Seat-shifts sold over seat-shifts there were to sell in a month, day by day (a floor's row, or
    its site's with floor_id null)."""

    month: str
    site_id: uuid.UUID
    site_code: str
    floor_id: uuid.UUID | None
    floor_name: str | None
    available_seat_shifts: int
    leased_seat_shifts: int
    occupancy_rate: float


class OccupancyReport(BaseModel):
    from_month: str
    to_month: str
    items: list[OccupancyMonth]


class RevpassRow(BaseModel):
    """Revenue per available seat-shift of a site-month (shift null) or of one of its shifts, in minor
    units of the site's currency, rounded half up; the exact figure is revenue_minor / available_seat_shifts."""

    month: str
    site_id: uuid.UUID
    site_code: str
    currency: str
    shift: str | None
    revenue_minor: int
    available_seat_shifts: int
    revpass_minor: int


class RevpassReport(BaseModel):
    from_month: str
    to_month: str
    items: list[RevpassRow]
