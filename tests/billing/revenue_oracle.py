"""A slow, obviously-correct oracle for the revenue reports: walk each lease, seat and day.

Independent of billing/revenue*.py: MRR from the fixture's own facts (seat price per day by
tests/billing/oracle.py `seat_price_on`), revenue from the invoice rows as stored, spread over
floors by counting seat-days one day at a time, capacity by counting seats, shifts and days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.billing.oracle import month_days, rhu, seat_price_on


@dataclass
class OSeat:
    floor: str
    start: date
    end: date | None


@dataclass
class OLease:
    id: str
    client: str
    site: str
    currency: str
    shift: str
    price: int
    start: date
    end: date | None = None
    discount: str = "0"
    pct: str | None = None
    steps: list[tuple[date, int]] = field(default_factory=list)
    seats: list[OSeat] = field(default_factory=list)
    addons: list[tuple[int, int, date | None, date | None]] = field(default_factory=list)  # unit, qty, start, end


def month_end(year: int, month: int) -> date:
    return month_days(year, month)[-1]


def _on(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


def lease_mrr(lease: OLease, day: date) -> int:
    if not _on(lease.start, lease.end, day):
        return 0
    seats = sum(1 for s in lease.seats if _on(s.start, s.end, day))
    price = seat_price_on(day, lease.price, lease.start, lease.steps, lease.pct)
    addons = sum(u * q for u, q, s, e in lease.addons if _on(s or lease.start, e, day))
    gross = seats * price + addons
    return gross - rhu(int(gross * Decimal(lease.discount) * 100), 10000)


def mrr_movement(leases: list[OLease], months: list[tuple[int, int]]) -> dict[tuple[str, str], dict[str, int]]:
    """{(YYYY-MM, currency): {mrr_start, new, expansion, contraction, churn, mrr_end}}, client by client."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for y, m in months:
        prev_end = date(y, m, 1) - timedelta(days=1)
        end = month_end(y, m)
        per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for lease in leases:
            per[(lease.client, lease.currency)][0] += lease_mrr(lease, prev_end)
            per[(lease.client, lease.currency)][1] += lease_mrr(lease, end)
        for (_, cur), (before, after) in per.items():
            row = out.setdefault(
                (f"{y:04d}-{m:02d}", cur),
                {"mrr_start": 0, "new": 0, "expansion": 0, "contraction": 0, "churn": 0, "mrr_end": 0},
            )
            row["mrr_start"] += before
            row["mrr_end"] += after
            if before == 0 and after > 0:
                row["new"] += after
            elif before > 0 and after == 0:
                row["churn"] += before
            elif after > before:
                row["expansion"] += after - before
            elif after < before:
                row["contraction"] += before - after
    return out


def floor_days(lease: OLease, first: date) -> dict[str, int]:
    """Seat-days of the lease per floor in the month starting `first`, one day at a time."""
    out: dict[str, int] = defaultdict(int)
    for d in month_days(first.year, first.month):
        for s in lease.seats:
            if _on(s.start, s.end, d):
                out[s.floor] += 1
    return dict(out)


def revenue(lines: list[Any], notes: list[Any], leases: dict[str, OLease]) -> dict[tuple[str, str, str, Any, Any, str], int]:
    """{(YYYY-MM, currency, site, floor, shift, client): amount}: issued invoice lines by service month,
    deposits and credit transfers left out, each lease line split over floors by seat-days (largest
    shares by the running total, as a till would round), manual credit notes on their invoice's period."""
    out: dict[tuple[str, str, str, Any, Any, str], int] = defaultdict(int)
    per_lease_month: dict[tuple[Any, ...], int] = defaultdict(int)
    for r in lines:
        if r["status"] not in ("issued", "partially_paid", "paid") or r["kind"] in ("deposit", "credit_transfer", "inclusion"):
            continue
        first = r["service_month"] or (r["service_start"].replace(day=1) if r["service_start"] else None)
        first = first or date.fromisoformat(r["period"] + "-01")
        lease_key = str(r["lease_id"]) if r["lease_id"] else None
        per_lease_month[(first, r["currency"], str(r["site_id"]), str(r["client_id"]), lease_key)] += r["amount_minor"]
    for (first, cur, site, client, lease_id), amount in per_lease_month.items():
        month = first.strftime("%Y-%m")
        lease = leases.get(lease_id) if lease_id else None
        weights = floor_days(lease, first) if lease else {}
        shift = lease.shift if lease else None
        if not weights:
            out[(month, cur, site, None, shift, client)] += amount
            continue
        total, upto = sum(weights.values()), 0
        for floor in sorted(weights):
            share = rhu(amount * (upto + weights[floor]), total) - rhu(amount * upto, total)
            upto += weights[floor]
            out[(month, cur, site, floor, shift, client)] += share
    for n in notes:
        if n["status"] == "issued" and n["kind"] == "manual" and n["invoice_status"] in ("issued", "partially_paid", "paid"):
            out[(n["period"], n["currency"], str(n["site_id"]), None, None, str(n["client_id"]))] -= n["amount_minor"]
    return dict(out)


def fold(rev: dict[tuple[str, str, str, Any, Any, str], int], keep: tuple[int, ...]) -> dict[tuple[Any, ...], int]:
    """Sum the revenue keeping the key positions named (0 month, 1 currency, 2 site, 3 floor, 4 shift, 5 client)."""
    out: dict[tuple[Any, ...], int] = defaultdict(int)
    for k, v in rev.items():
        out[tuple(k[i] for i in keep)] += v
    return dict(out)


def occupancy(
    leases: list[OLease], floor_seats: dict[str, int], named_shifts: int, year: int, month: int
) -> dict[str, tuple[int, int]]:
    """{floor: (available, leased)} seat-shifts of the month, day by day."""
    days = month_days(year, month)
    out = {f: (n * named_shifts * len(days), 0) for f, n in floor_seats.items()}
    for lease in leases:
        per_day = named_shifts if lease.shift == "FULL" else 1
        for s in lease.seats:
            held = sum(1 for d in days if _on(s.start, s.end, d))
            a, used = out.get(s.floor, (0, 0))
            out[s.floor] = (a, used + held * per_day)
    return out
