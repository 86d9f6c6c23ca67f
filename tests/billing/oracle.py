"""A slow, obviously-correct oracle for seat billing: walk every calendar day of the month."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def month_days(year: int, month: int) -> list[date]:
    days = []
    d = date(year, month, 1)
    while d.month == month:
        days.append(d)
        d += timedelta(days=1)
    return days


def rhu(numerator: int, denominator: int) -> int:
    """Round half up (away from zero) with Decimal, independent of domain.rules.money."""
    q = Decimal(numerator) / Decimal(denominator)
    return int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def seat_charge(price: int, seats: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Sum over groups of seats held on exactly the same days of the month."""
    days = month_days(year, month)
    groups: Counter[tuple[date, ...]] = Counter()
    for start, end in seats:
        held = tuple(d for d in days if start <= d and (end is None or d <= end))
        if held:
            groups[held] += 1
    return sum(rhu(price * qty * len(held), len(days)) for held, qty in groups.items())


def tax(amount: int, rate: str) -> int:
    return rhu(amount * int(Decimal(rate) * 10000), 10000)


def seat_price_on(day: date, base: int, start: date, steps: list[tuple[date, int]] | None = None, pct: str | None = None) -> int:
    """Issue 11's seat price of a lease on one day, the slow way: take the latest dated step on or
    before the day (else the base, from the start), then walk the years one by one and raise the
    price by the percentage (Decimal, half up) on each anniversary after that step, up to the day."""
    price, anchor = base, start
    for when, p in sorted(steps or []):
        if when <= day:
            price, anchor = p, when
    if pct:
        years = 1
        while True:
            try:
                ann = date(start.year + years, start.month, start.day)
            except ValueError:  # 29 February in a common year
                ann = date(start.year + years, 2, 28)
            if ann > day:
                break
            if ann > anchor:
                price = int((Decimal(price) * (100 + Decimal(pct)) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            years += 1
    return price


def seat_charge_dated(price_of: Callable[[date], int], seats: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Like `seat_charge`, with the price read per day: seats held on the same days form a group,
    and each run of days of one price within the group is prorated on its own (rule 4)."""
    days = month_days(year, month)
    groups: Counter[tuple[date, ...]] = Counter()
    for start, end in seats:
        held = tuple(d for d in days if start <= d and (end is None or d <= end))
        if held:
            groups[held] += 1
    total = 0
    for held, qty in groups.items():
        runs: list[tuple[int, int]] = []  # (price, days)
        for d in held:
            p = price_of(d)
            if runs and runs[-1][0] == p:
                runs[-1] = (p, runs[-1][1] + 1)
            else:
                runs.append((p, 1))
        total += sum(rhu(p * qty * n, len(days)) for p, n in runs)
    return total


# --- changes during a term: dated add-ons and seat moves (issue 11) ---
def addon_charge(
    price: int,
    rows: list[tuple[int, date | None, date | None]],
    lease_start: date,
    lease_end: date | None,
    year: int,
    month: int,
) -> int:
    """A monthly add-on's dated rows (quantity, start or None = the lease's, end or None = the
    lease's): walk the days; each row is charged for its own days held within the lease's term."""
    days = month_days(year, month)
    total = 0
    for qty, start, end in rows:
        first = max(lease_start, start) if start else lease_start
        held = [d for d in days if first <= d and (end is None or d <= end) and (lease_end is None or d <= lease_end)]
        if held:
            total += rhu(price * qty * len(held), len(days))
    return total


def moved_seat_days(spans: list[tuple[date, date | None]], year: int, month: int) -> int:
    """Seat-days of the month over a seat's successive places (a seat moved is the same seat)."""
    return sum(1 for d in month_days(year, month) if any(s <= d and (e is None or d <= e) for s, e in spans))


# --- payments, partial payments, withholding and credit balances (issue 12) ---
# The slow, obviously-correct ledger the payments tests hold the API to: every figure is a sum over
# the whole history, recomputed from scratch on each read; nothing is stored but what happened.


class Ledger:
    """One client's invoices, payments (with their allocations), credit notes and refunds."""

    def __init__(self, rate: str = "0") -> None:
        self.rate = Decimal(rate)
        # invoice id -> {total, base (rent before VAT, deposits aside), credited, credited_base, order}
        self.invoices: dict[str, dict[str, int]] = {}
        # payment id -> {amount, status, allocations: [[invoice, cash, withheld, seq]]}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunded = 0
        self.seq = 0

    def add_invoice(self, inv: dict[str, Any]) -> None:
        base = sum(x["amount_minor"] for x in inv["lines"] if x["kind"] != "deposit")
        order = len(self.invoices)
        self.invoices[inv["id"]] = {"total": inv["total_minor"], "base": base, "credited": 0, "credited_base": 0, "order": order}

    def _allocs(self, invoice_id: str, statuses: tuple[str, ...]) -> list[list[Any]]:
        return [a for p in self.payments.values() if p["status"] in statuses for a in p["allocations"] if a[0] == invoice_id]

    def settled(self, invoice_id: str) -> int:
        return sum(a[1] + a[2] for a in self._allocs(invoice_id, ("cleared",)))

    def held(self, invoice_id: str) -> int:
        return sum(a[1] + a[2] for a in self._allocs(invoice_id, ("held",)))

    def owed(self, invoice_id: str) -> int:
        i = self.invoices[invoice_id]
        return max(0, i["total"] - i["credited"] - self.settled(invoice_id))

    def open(self, invoice_id: str) -> int:
        return max(0, self.owed(invoice_id) - self.held(invoice_id))

    def status(self, invoice_id: str) -> str:
        i = self.invoices[invoice_id]
        settled = self.settled(invoice_id)
        if settled <= 0:
            return "issued"
        return "paid" if i["total"] - i["credited"] - settled <= 0 else "partially_paid"

    def withholding_left(self, invoice_id: str) -> int:
        i = self.invoices[invoice_id]
        due = rhu((i["base"] - i["credited_base"]) * int(self.rate * 10000), 10000) if self.rate > 0 else 0
        done = sum(a[2] for a in self._allocs(invoice_id, ("cleared", "held")))
        return max(0, min(due - done, self.open(invoice_id)))

    def credit(self) -> int:
        cleared = [p for p in self.payments.values() if p["status"] == "cleared"]
        return sum(p["amount"] for p in cleared) - sum(a[1] for p in cleared for a in p["allocations"]) - self.refunded

    def outstanding(self) -> int:
        return sum(self.owed(i) for i in self.invoices)

    def withheld(self) -> int:
        return sum(a[2] for p in self.payments.values() if p["status"] == "cleared" for a in p["allocations"])

    def held_total(self) -> int:
        return sum(p["amount"] for p in self.payments.values() if p["status"] == "held")

    def open_invoices(self) -> list[str]:
        return sorted((i for i in self.invoices if self.status(i) != "paid"), key=lambda i: self.invoices[i]["order"])

    def default_plan(self, cash: int) -> list[tuple[str, int, int]]:
        """Oldest due first: each invoice in full (net of withholding) while the money lasts."""
        plan = []
        for i in self.open_invoices():
            if cash <= 0:
                break
            withheld = self.withholding_left(i)
            need = self.open(i) - withheld
            if need <= 0 and withheld <= 0:
                continue
            take = (need, withheld) if cash >= need else (cash, 0)
            cash -= take[0]
            if sum(take) > 0:
                plan.append((i, *take))
        return plan

    def record(self, payment_id: str, amount: int, plan: list[tuple[str, int, int]], *, held: bool = False) -> None:
        self.payments[payment_id] = {"amount": amount, "status": "held" if held else "cleared", "allocations": []}
        for i, cash, withheld in plan:
            self.seq += 1
            self.payments[payment_id]["allocations"].append([i, cash, withheld, self.seq])

    def clear(self, payment_id: str) -> None:
        """A held cheque's date came: it pays what its invoices still owe, the rest is credit."""
        p = self.payments[payment_id]
        for a in p["allocations"]:
            room = self.owed(a[0]) if self.status(a[0]) != "paid" else 0
            if a[1] + a[2] > room:
                a[2] = min(a[2], room)
                a[1] = min(a[1], room - a[2])
        p["allocations"] = [a for a in p["allocations"] if a[1] + a[2] > 0]
        p["status"] = "cleared"

    def void(self, payment_id: str) -> None:
        self.payments[payment_id]["status"] = "void"

    def apply_credit(self) -> list[tuple[str, int, int]]:
        plan = self.default_plan(max(0, self.credit()))
        # the money comes out of the payments with money left, oldest first; only the totals matter here
        if plan:
            self.record(f"credit-{self.seq}", 0, plan)
        return plan

    def credit_note(self, invoice_id: str, amount: int, total: int) -> None:
        """A credit note: what a paid invoice no longer owes goes back, newest allocations' cash first."""
        i = self.invoices[invoice_id]
        i["credited"] += total
        i["credited_base"] += amount
        excess = self.settled(invoice_id) - max(0, i["total"] - i["credited"])
        allocs = sorted(self._allocs(invoice_id, ("cleared",)), key=lambda a: -a[3])
        for slot in (1, 2) if excess > 0 else ():
            for a in allocs:
                take = min(excess, a[slot])
                a[slot] -= take
                excess -= take
