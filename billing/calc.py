"""Invoice line math (PRODUCT.md rule 4), pure: plain values in, plain values out, no I/O.

Seats are billed monthly in advance. A line covering `d` days of a month of `D` days is
`round_half_up(unit_price × quantity × d / D)`; tax is `round_half_up(line × rate)` per line.
Seat rows of a lease whose clipped day span within the month is identical are grouped into
one line. What a month should have cost a lease is a pure function of the lease as it stands
now (`expected_monthly`), so a later run trues up a month already invoiced by comparing that
with what was billed for it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from billing.facts import (
    RECURRING_KINDS,
    Billed,
    LeaseFacts,
    Line,
    Month,
    SeatSpan,
    clip,
)
from domain.rules.money import apply_discount, div_half_up, line_tax_rate, prorate, tax_on


def _span_text(s: date, e: date) -> str:
    return f"{s.isoformat()}–{e.isoformat()}"


def seat_lines(facts: LeaseFacts, month: Month) -> list[Line]:
    """Seats of the lease in the month, one line per identical day span."""
    if not facts.billable:
        return []
    groups: dict[tuple[date, date], int] = defaultdict(int)
    for seat in facts.seats:
        span = clip(seat.start, seat.end, month)
        if span is not None:
            groups[span] += 1
    lines = []
    for (span_s, span_e), qty in sorted(groups.items()):
        # one line per run of days with one seat price (escalation or a dated price step may
        # change it mid-month); each run is prorated on its own, as rule 4 says
        for s, e, price in facts.seat_price_segments(span_s, span_e):
            d = (e - s).days + 1
            lines.append(
                Line(
                    kind="seat",
                    description=f"{facts.plan_name} ({facts.shift}) × {qty} seat{'s' if qty != 1 else ''}, {_span_text(s, e)}",
                    quantity=qty,
                    unit_price_minor=price,
                    amount_minor=prorate(price, qty, d, month.days),
                    lease_id=facts.lease_id,
                    service_month=month.first,
                    service_start=s,
                    service_end=e,
                    days=d,
                    period_days=month.days,
                    units=qty * d,
                )
            )
    return lines


def _lease_span(facts: LeaseFacts, month: Month) -> tuple[date, date] | None:
    """The days of the month on which the lease holds at least its term (add-ons follow the term)."""
    return clip(facts.start_date, facts.end_date, month) if facts.billable else None


def addon_lines(facts: LeaseFacts, month: Month) -> list[Line]:
    """Monthly add-ons in the month, one line per add-on row: each over the days of the month its
    own dates and the lease's term share (a quantity changed mid-month is two lines, each prorated)."""
    if _lease_span(facts, month) is None:
        return []
    lines = []
    for a in sorted(facts.add_ons, key=lambda a: (a.code, a.start or facts.start_date)):
        if a.billing != "monthly":
            continue
        start = max(facts.start_date, a.start) if a.start else facts.start_date
        end = a.end if facts.end_date is None else (facts.end_date if a.end is None else min(a.end, facts.end_date))
        span = clip(start, end, month)
        if span is None:
            continue
        s, e = span
        d = (e - s).days + 1
        lines.append(
            Line(
                kind="addon",
                description=f"Add-on: {a.name} × {a.quantity}, {_span_text(s, e)}",
                quantity=a.quantity,
                unit_price_minor=a.unit_price_minor,
                amount_minor=prorate(a.unit_price_minor, a.quantity, d, month.days),
                lease_id=facts.lease_id,
                service_month=month.first,
                service_start=s,
                service_end=e,
                days=d,
                period_days=month.days,
                units=a.quantity * d,
            )
        )
    return lines


# --- changes during a term: seat moves (issue 11) ---
def join_moves(spans: Sequence[SeatSpan]) -> list[SeatSpan]:
    """A moved seat is one seat to billing: the span that was moved away the day before a span was
    moved in becomes one span with it (chains of moves too), so a move never changes what a month
    costs, not even by a rounding unit. Spans in (start, end) order, open-ended last."""
    if not any(s.moved_in or s.moved_out for s in spans):
        return list(spans)
    waiting: dict[date, list[SeatSpan]] = defaultdict(list)  # moved away, by the day the seat goes on
    out: list[SeatSpan] = []
    for sp in sorted(spans, key=_span_order):
        if sp.moved_in and waiting.get(sp.start):
            before = waiting[sp.start].pop(0)
            sp = SeatSpan(before.start, sp.end, moved_in=before.moved_in, moved_out=sp.moved_out)
        if sp.moved_out and sp.end is not None:
            waiting[sp.end + timedelta(days=1)].append(sp)
        else:
            out.append(sp)
    out.extend(sp for left in waiting.values() for sp in left)
    return sorted(out, key=_span_order)


def _span_order(s: SeatSpan) -> tuple[date, date]:
    return (s.start, s.end or date.max)


def inclusion_lines(facts: LeaseFacts, month: Month, seats: int | None = None) -> list[Line]:
    """Included items at zero, so that the statement shows what a seat comes with."""
    if seats is None:
        seats = sum(1 for s in facts.seats if clip(s.start, s.end, month) is not None)
    if not facts.billable or seats == 0:
        return []
    return [
        Line(
            kind="inclusion",
            description=f"Included: {i.name}",
            quantity=seats * i.quantity_per_seat,
            unit_price_minor=0,
            amount_minor=0,
            lease_id=facts.lease_id,
            service_month=month.first,
        )
        for i in sorted(facts.included, key=lambda i: i.code)
    ]


def discount_line(facts: LeaseFacts, month: Month, base_minor: int) -> Line | None:
    if facts.discount_pct <= 0 or base_minor == 0:
        return None
    amount = apply_discount(base_minor, facts.discount_pct)
    return Line(
        kind="discount",
        description=f"Discount {facts.discount_pct.normalize():f}% on seats and add-ons, {month}",
        quantity=1,
        unit_price_minor=amount,
        amount_minor=amount,
        lease_id=facts.lease_id,
        service_month=month.first,
    )


def expected_monthly(facts: LeaseFacts, month: Month) -> dict[str, tuple[int, int]]:
    """What the recurring charges of a month come to for the lease as it stands now."""
    seats = seat_lines(facts, month)
    addons = addon_lines(facts, month)
    seat_amount = sum(x.amount_minor for x in seats)
    addon_amount = sum(x.amount_minor for x in addons)
    disc = discount_line(facts, month, seat_amount + addon_amount)
    return {
        "seat": (seat_amount, sum(x.units for x in seats)),
        "addon": (addon_amount, sum(x.units for x in addons)),
        "discount": (disc.amount_minor if disc else 0, 0),
    }


_KIND_WORDS = {"seat": "seat-days", "addon": "add-on unit-days", "discount": "discount"}


def trueup_lines(facts: LeaseFacts, months: Iterable[Month], billed: Billed) -> list[Line]:
    """Dated adjustments for months already invoiced: now-expected minus already-billed."""
    out = []
    for month in sorted(months):
        expected = expected_monthly(facts, month)
        for kind in RECURRING_KINDS:
            amount, units = expected[kind]
            was_amount, was_units = billed.monthly.get((month.first, kind), (0, 0))
            delta = amount - was_amount
            if delta == 0:
                continue
            delta_units = units - was_units
            what = f"{delta_units:+d} {_KIND_WORDS[kind]}" if kind != "discount" else "discount changed"
            out.append(
                Line(
                    kind=kind,
                    trueup=True,
                    description=f"True-up {month} ({month.first.isoformat()}–{month.last.isoformat()}): "
                    f"{facts.plan_name} ({facts.shift}), {what}",
                    quantity=1,
                    unit_price_minor=delta,
                    amount_minor=delta,
                    lease_id=facts.lease_id,
                    service_month=month.first,
                    service_start=month.first,
                    service_end=month.last,
                    days=delta_units if kind != "discount" else None,
                    period_days=month.days,
                    units=delta_units,
                )
            )
    return out


def one_off_lines(facts: LeaseFacts, month: Month, billed: Billed) -> list[Line]:
    """Setup fee, one-time add-ons and deposit: once per lease, on the first invoice that
    covers its start (or the next one, if the lease was back-dated into an invoiced month)."""
    if not facts.billable or facts.start_date > month.last or billed.setup_billed:
        return []
    seats = facts.initial_seats
    out = []
    if facts.setup_fee_minor:
        out.append(
            Line(
                kind="setup_fee",
                description=f"Setup fee: {facts.plan_name} × {seats}",
                quantity=seats,
                unit_price_minor=facts.setup_fee_minor,
                amount_minor=facts.setup_fee_minor * seats,
                lease_id=facts.lease_id,
                service_start=facts.start_date,
            )
        )
    for a in sorted(facts.add_ons, key=lambda a: a.code):
        if a.billing == "one_time":
            out.append(
                Line(
                    kind="addon_one_time",
                    description=f"One-time: {a.name} × {a.quantity}",
                    quantity=a.quantity,
                    unit_price_minor=a.unit_price_minor,
                    amount_minor=a.unit_price_minor * a.quantity,
                    lease_id=facts.lease_id,
                    service_start=facts.start_date,
                )
            )
    if facts.deposit_months and billed.deposit_minor == 0:
        unit = facts.monthly_price_minor * facts.deposit_months
        out.append(
            Line(
                kind="deposit",
                description=f"Security deposit ({facts.deposit_months} month"
                f"{'s' if facts.deposit_months != 1 else ''} × {seats} seats)",
                quantity=seats,
                unit_price_minor=unit,
                amount_minor=unit * seats,
                lease_id=facts.lease_id,
                service_start=facts.start_date,
            )
        )
    return out


def deposit_refund_due(facts: LeaseFacts, month: Month, billed: Billed) -> int:
    """The deposit to give back by credit note once the lease is over before this month."""
    if billed.deposit_minor <= 0 or billed.deposit_refunded:
        return 0
    over = facts.status == "cancelled" or (facts.end_date is not None and facts.end_date < month.first)
    return billed.deposit_minor if over else 0


def lease_lines(facts: LeaseFacts, month: Month, billed: Billed, invoiced_months: Sequence[Month]) -> list[Line]:
    """Every line of one lease on the invoice of `month`, untaxed."""
    seats = seat_lines(facts, month)
    addons = addon_lines(facts, month)
    disc = discount_line(facts, month, sum(x.amount_minor for x in seats + addons))
    current = seats + inclusion_lines(facts, month, sum(x.quantity for x in seats)) + addons + ([disc] if disc else [])
    past = [m for m in invoiced_months if m < month]
    return current + one_off_lines(facts, month, billed) + trueup_lines(facts, past, billed)


def with_tax(lines: Iterable[Line], rate: Decimal, treatment: str = "standard") -> list[Line]:
    """Tax per line at the rate the client's treatment gives (domain/rules/money.py `line_tax_rate`:
    the site's rate, or none when zero-rated or exempt); each line records the treatment and the rate
    applied. A deposit is a liability, not a sale, and carries none."""
    applied = line_tax_rate(treatment, rate)
    r = Fraction(applied)
    out = []
    for line in lines:
        tax = 0 if line.kind == "deposit" else div_half_up(line.amount_minor * r.numerator, r.denominator)
        out.append(
            Line(
                line.kind,
                line.description,
                line.quantity,
                line.unit_price_minor,
                line.amount_minor,
                tax,
                line.lease_id,
                line.service_month,
                line.service_start,
                line.service_end,
                line.days,
                line.period_days,
                line.units,
                line.trueup,
                treatment,
                Decimal(0) if line.kind == "deposit" else applied,
            )
        )
    return out


def credit_tax(amount_minor: int, taxed: Iterable[tuple[int, Decimal | None]]) -> int:
    """The tax of a partial credit of `amount_minor` against an invoice whose lines are `taxed`
    (amount, rate applied): at the invoice's own rate when its lines share one, else the invoice's
    tax in proportion to its taxed amount. Never the site's current rate: a credit reverses what
    the invoice charged."""
    rated = [(a, Decimal(r or 0)) for a, r in taxed if a]
    rates = {r for _, r in rated}
    if not rated or rates == {Decimal(0)}:
        return 0
    if len(rates) == 1:
        return tax_on(amount_minor, rates.pop())
    base = sum(a for a, _ in rated)
    tax = sum(tax_on(a, r) for a, r in rated)
    return div_half_up(amount_minor * tax, base) if base else 0


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    tax_minor: int
    total_minor: int


def totals(lines: Iterable[Line]) -> Totals:
    lines = list(lines)
    sub = sum(x.amount_minor for x in lines)
    tax = sum(x.tax_minor for x in lines)
    return Totals(sub, tax, sub + tax)


def billed_from_rows(rows: Iterable[Mapping[str, object]]) -> dict[uuid.UUID, Billed]:
    """Fold rows of (lease_id, kind, service_month, amount_minor, units) into Billed per lease."""
    out: dict[uuid.UUID, Billed] = defaultdict(Billed)
    for r in rows:
        b = out[r["lease_id"]]  # type: ignore[index]
        kind = str(r["kind"])
        amount = int(r["amount_minor"])  # type: ignore[call-overload]
        units = int(r["units"])  # type: ignore[call-overload]
        if kind in RECURRING_KINDS and r["service_month"] is not None:
            key = (r["service_month"], kind)
            a, u = b.monthly.get(key, (0, 0))  # type: ignore[arg-type]
            b.monthly[key] = (a + amount, u + units)  # type: ignore[index]
        elif kind in ("setup_fee", "addon_one_time", "deposit"):
            b.setup_billed = True
            if kind == "deposit":
                b.deposit_minor += amount
    return out


@dataclass(frozen=True)
class Excess:
    """The part of an invoice's true-up credit that its charges cannot absorb."""

    amount_minor: int
    tax_minor: int

    @property
    def total_minor(self) -> int:
        return self.amount_minor + self.tax_minor


def excess_credit(t: Totals) -> Excess | None:
    """How much credit must leave an invoice (as a credit note) so that its total is zero, not
    negative; None when the total is not negative. Both parts are ≥ 0 and add up to −total."""
    if t.total_minor >= 0:
        return None
    total = -t.total_minor
    tax = min(max(0, -t.tax_minor), total)
    return Excess(total - tax, tax)


def split_excess(excess: Excess, weights: Sequence[int]) -> list[Excess]:
    """Spread the excess over the invoices it corrects, each taking at most its weight (the credit
    its own true-ups carry, largest first as given) and tax in proportion; the parts sum exactly
    to the excess and every part keeps 0 ≤ tax ≤ total."""
    remaining_total, remaining_tax = excess.total_minor, excess.tax_minor
    out = []
    for i, weight in enumerate(weights):
        last = i == len(weights) - 1
        total = remaining_total if last else min(max(0, weight), remaining_total)
        tax = remaining_tax if last else (remaining_tax * total // remaining_total if remaining_total else 0)
        out.append(Excess(total - tax, tax))
        remaining_total -= total
        remaining_tax -= tax
    return out
