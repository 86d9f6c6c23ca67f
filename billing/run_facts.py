"""What a billing run reads: the clients to bill, the months already invoiced, and per batch of
clients the facts of their leases and what earlier invoices already charged them, turned into
taxed lines (`prepare_batch`). Reads only, no lock; billing/run_batch.py issues the documents."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from billing import calc
from billing.facts import AddOnFacts, Billed, IncludedFacts, LeaseFacts, Line, Month, SeatSpan
from domain.models.held import shift_days_sql

LOOKBACK_MONTHS = 12


async def invoiced_months(conn: Any, month: Month) -> list[Month]:
    """Months before this one that a finished run invoiced (true-ups look back at these)."""
    floor = month
    for _ in range(LOOKBACK_MONTHS):
        floor = floor.prev()
    rows = await conn.fetch(
        "SELECT DISTINCT period FROM billing_runs WHERE status = 'done' AND period >= $1 AND period < $2", str(floor), str(month)
    )
    return sorted(Month.parse(r["period"]) for r in rows)


CANDIDATES_SQL = """
SELECT DISTINCT l.client_id FROM leases l
WHERE l.start_date <= $2 AND (
        (l.status IN ('confirmed','active','ended') AND (l.end_date IS NULL OR l.end_date >= $1))
     OR EXISTS (SELECT 1 FROM invoice_lines il WHERE il.lease_id = l.id AND il.service_month >= $1 AND il.kind <> 'one_off')
     OR (EXISTS (SELECT 1 FROM invoice_lines il WHERE il.lease_id = l.id AND il.kind = 'deposit')
         AND NOT EXISTS (SELECT 1 FROM credit_notes cn WHERE cn.dedupe_key = 'deposit:' || l.id::text)))
ORDER BY l.client_id
"""

# the lease's own prices (issue 11: copied at booking), never the plan's: a plan's new price moves
# no invoice and no true-up of a lease already booked; the plan gives only its name
LEASES_SQL = """
SELECT l.id, l.client_id, l.site_id, l.plan_id, l.shift_code, l.start_date, l.end_date, l.status,
       l.discount_pct, p.name AS plan_name, l.monthly_price_minor, l.setup_fee_minor, l.deposit_months,
       l.escalation_pct
FROM leases l JOIN plans p ON p.id = l.plan_id
WHERE l.client_id = ANY($1::uuid[]) AND l.start_date <= $2
ORDER BY l.client_id, l.site_id, l.start_date, l.id
"""

# the lease seats with a shift starting from the look-back to the month's end (held.py, the one
# rule); seats of one lease with the same dates are alike to the calculation: the database counts them,
# so a lease of 20 seats costs one row, not 20, to read and decode; in the order calc wants them
SEATS_SQL = f"""
SELECT lease_id, start_date, end_date, count(*)::int AS n,
       EXISTS (SELECT 1 FROM lease_seat_moves mv WHERE mv.lease_id = ls.lease_id AND mv.to_seat_id = ls.seat_id
               AND mv.effective_date = ls.start_date) AS moved_in,
       EXISTS (SELECT 1 FROM lease_seat_moves mv WHERE mv.lease_id = ls.lease_id AND mv.from_seat_id = ls.seat_id
               AND mv.effective_date = ls.end_date + 1) AS moved_out
FROM lease_seats ls
WHERE lease_id = ANY($1::uuid[]) AND NOT voided AND {shift_days_sql("ls", "$3::date", "$2::date")}
GROUP BY lease_id, start_date, end_date, moved_in, moved_out
ORDER BY lease_id, start_date, end_date NULLS LAST
"""


async def load_facts(conn: Any, client_ids: list[uuid.UUID], month: Month, lookback: date) -> list[tuple[Any, LeaseFacts]]:
    leases = await conn.fetch(LEASES_SQL, client_ids, month.last)
    if not leases:
        return []
    lease_ids = [r["id"] for r in leases]
    seats: dict[uuid.UUID, list[SeatSpan]] = defaultdict(list)
    for r in await conn.fetch(SEATS_SQL, lease_ids, month.last, lookback):
        seats[r["lease_id"]].extend([SeatSpan(r["start_date"], r["end_date"], r["moved_in"], r["moved_out"])] * r["n"])
    add_ons: dict[uuid.UUID, list[AddOnFacts]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT la.lease_id, i.code, i.name, i.billing, la.unit_price_minor, la.quantity, la.start_date, la.end_date
           FROM lease_add_ons la JOIN inclusions i ON i.id = la.inclusion_id
           WHERE la.lease_id = ANY($1::uuid[])""",
        lease_ids,
    ):
        add_ons[r["lease_id"]].append(
            AddOnFacts(r["code"], r["name"], r["billing"], r["unit_price_minor"], r["quantity"], r["start_date"], r["end_date"])
        )
    steps: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT lease_id, effective_date, monthly_price_minor FROM lease_price_steps
           WHERE lease_id = ANY($1::uuid[]) ORDER BY lease_id, effective_date""",
        lease_ids,
    ):
        steps[r["lease_id"]].append((r["effective_date"], r["monthly_price_minor"]))
    grouped: dict[uuid.UUID, list[IncludedFacts]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT plan_id, code, name, quantity_per_seat FROM inclusions
           WHERE billing = 'included' AND plan_id = ANY($1::uuid[])""",
        list({r["plan_id"] for r in leases}),
    ):
        grouped[r["plan_id"]].append(IncludedFacts(r["code"], r["name"], r["quantity_per_seat"]))
    included = {plan: tuple(facts) for plan, facts in grouped.items()}  # one tuple per plan, shared by its leases
    out = []
    for r in leases:
        out.append(
            (
                r,
                LeaseFacts(
                    lease_id=r["id"],
                    plan_name=r["plan_name"],
                    shift=r["shift_code"],
                    monthly_price_minor=r["monthly_price_minor"],
                    setup_fee_minor=r["setup_fee_minor"],
                    deposit_months=r["deposit_months"],
                    start_date=r["start_date"],
                    end_date=r["end_date"],
                    status=r["status"],
                    discount_pct=Decimal(r["discount_pct"]),
                    seats=tuple(calc.join_moves(seats[r["id"]])),  # sorted by (start, end), open-ended last
                    add_ons=tuple(add_ons[r["id"]]),
                    included=included.get(r["plan_id"], ()),
                    price_steps=tuple(steps.get(r["id"], ())),
                    escalation_pct=None if r["escalation_pct"] is None else Decimal(r["escalation_pct"]),
                ),
            )
        )
    return out


async def load_billed(conn: Any, lease_ids: list[uuid.UUID]) -> dict[uuid.UUID, Billed]:
    rows = await conn.fetch(
        """SELECT il.lease_id, il.kind, il.service_month, sum(il.amount_minor) AS amount_minor,
                  sum(il.units) AS units
           FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
           WHERE il.lease_id = ANY($1::uuid[]) AND i.status <> 'void' AND il.kind <> 'one_off'
           GROUP BY il.lease_id, il.kind, il.service_month""",
        lease_ids,
    )
    billed = calc.billed_from_rows(rows)
    for r in await conn.fetch(
        "SELECT dedupe_key FROM credit_notes WHERE dedupe_key = ANY($1::text[])", [f"deposit:{i}" for i in lease_ids]
    ):
        billed[uuid.UUID(r["dedupe_key"].split(":", 1)[1])].deposit_refunded = True
    return billed


SITES_SQL = "SELECT id, code, currency, tax_rate, timezone FROM sites WHERE id = ANY($1::uuid[])"
TERMS_SQL = "SELECT id, payment_terms_days, tax_treatment FROM clients WHERE id = ANY($1::uuid[])"


@dataclass
class Prepared:
    """A batch's reads and arithmetic, done before its transaction takes any lock (and, in a run,
    while the previous batch is being written): every client's lease lines per issuing site, taxed.
    Nothing here depends on what the run writes: the batches bill disjoint clients, and the clients
    another run billed meanwhile are dropped once the counters are locked (billing/run_batch.py)."""

    client_ids: list[uuid.UUID]
    per_invoice: dict[tuple[uuid.UUID, uuid.UUID], list[Line]] = field(default_factory=dict)
    refunds: list[tuple[Any, int]] = field(default_factory=list)
    sites: dict[uuid.UUID, Any] = field(default_factory=dict)
    terms: dict[uuid.UUID, int] = field(default_factory=dict)
    # each client's tax treatment (issue 12): its lines are taxed by it
    treatments: dict[uuid.UUID, str] = field(default_factory=dict)


async def prepare_batch(conn: Any, client_ids: list[uuid.UUID], month: Month, invoiced: list[Month], lookback: date) -> Prepared:
    facts = await load_facts(conn, client_ids, month, lookback)
    billed = await load_billed(conn, [f.lease_id for _, f in facts])
    prep = Prepared(client_ids)
    prep.sites = {r["id"]: r for r in await conn.fetch(SITES_SQL, sorted({r["site_id"] for r, _ in facts}))}
    clients = await conn.fetch(TERMS_SQL, client_ids)
    prep.terms = {r["id"]: r["payment_terms_days"] for r in clients}
    prep.treatments = {r["id"]: r["tax_treatment"] for r in clients}
    untaxed: dict[tuple[uuid.UUID, uuid.UUID], list[Line]] = defaultdict(list)
    for r, f in facts:
        b = billed.get(f.lease_id, Billed())
        lines = calc.lease_lines(f, month, b, invoiced)
        if lines:
            untaxed[(r["client_id"], r["site_id"])].extend(lines)
        refund = calc.deposit_refund_due(f, month, b)
        if refund:
            prep.refunds.append((r, refund))
    # tax is per line, so lines taxed now and charges taxed at write time add up the same
    prep.per_invoice = {
        key: calc.with_tax(lines, Decimal(prep.sites[key[1]]["tax_rate"]), prep.treatments[key[0]])
        for key, lines in untaxed.items()
    }
    return prep
