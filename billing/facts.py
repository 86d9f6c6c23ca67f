"""The facts invoice line math reads, as plain values: the month billed, a lease as it stands (its
seats' spans, add-ons, inclusions, terms), a line, and what was billed already. Pure, no I/O;
billing/calc.py turns them into lines.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from domain.rules.pricing import price_segments

BILLABLE_STATUSES = frozenset({"confirmed", "active", "ended"})
# the kinds that recur every month and are trued up when a month changes after invoicing
RECURRING_KINDS = ("seat", "addon", "discount")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, period: str) -> Month:
        m = _PERIOD.match(period)
        if not m or not 2000 <= int(m.group(1)) <= 2200:
            raise ValueError("a period is YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @cached_property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @cached_property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @cached_property
    def last(self) -> date:
        return date(self.year, self.month, self.days)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def prev(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class SeatSpan:
    start: date
    end: date | None  # inclusive; None = open-ended
    # --- changes during a term: seat moves (issue 11) ---
    # the seat was moved here on ``start`` / moved away the day after ``end`` (lease_seat_moves):
    # calc.join_moves makes the two rows of a moved seat one seat, so a move never changes a bill
    moved_in: bool = False
    moved_out: bool = False


@dataclass(frozen=True)
class AddOnFacts:
    code: str
    name: str
    billing: str  # monthly | one_time
    unit_price_minor: int
    quantity: int
    # --- changes during a term: dated add-ons (issue 11) ---
    # the row's own dates (lease_add_ons); None: the lease's start / end
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class IncludedFacts:
    code: str
    name: str
    quantity_per_seat: int


@dataclass(frozen=True)
class LeaseFacts:
    lease_id: uuid.UUID
    plan_name: str
    shift: str
    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    start_date: date
    end_date: date | None
    status: str
    discount_pct: Decimal
    seats: tuple[SeatSpan, ...]
    add_ons: tuple[AddOnFacts, ...] = ()
    included: tuple[IncludedFacts, ...] = ()
    # the lease's own price terms beyond its base price (issue 11): dated steps (sorted) and a
    # yearly escalation percentage; domain/rules/pricing.py says which price holds on which day
    price_steps: tuple[tuple[date, int], ...] = ()
    escalation_pct: Decimal | None = None

    def seat_price_segments(self, first: date, last: date) -> list[tuple[date, date, int]]:
        if not self.price_steps and not self.escalation_pct:
            return [(first, last, self.monthly_price_minor)]
        return price_segments(
            first,
            last,
            base_minor=self.monthly_price_minor,
            start_date=self.start_date,
            steps=self.price_steps,
            escalation_pct=self.escalation_pct,
        )

    @property
    def billable(self) -> bool:
        return self.status in BILLABLE_STATUSES

    @property
    def initial_seats(self) -> int:
        return sum(1 for s in self.seats if s.start <= self.start_date and (s.end is None or s.end >= self.start_date))


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    tax_minor: int = 0
    lease_id: uuid.UUID | None = None
    service_month: date | None = None
    service_start: date | None = None
    service_end: date | None = None
    days: int | None = None
    period_days: int | None = None
    units: int = 0
    trueup: bool = False
    # --- tax treatment (issue 12): how the line was taxed and at what rate (calc.with_tax sets them) ---
    tax_treatment: str = "standard"
    tax_rate: Decimal | None = None


@dataclass
class Billed:
    """What earlier invoices charged a lease: per (service month, kind) amount and units."""

    monthly: dict[tuple[date, str], tuple[int, int]] = field(default_factory=dict)
    setup_billed: bool = False
    deposit_minor: int = 0
    deposit_refunded: bool = False


def clip(start: date, end: date | None, month: Month) -> tuple[date, date] | None:
    first, last = month.first, month.last
    s = start if start > first else first
    e = last if end is None or end > last else end
    return (s, e) if s <= e else None
