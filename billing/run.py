"""The monthly billing run (PRODUCT.md rules 4 and 5).

Idempotent and resumable: an invoice's identity is (client, site, period) under a unique key,
clients are billed in batches, each batch one transaction that writes the invoices, their
lines, their gapless numbers (counter rows locked FOR UPDATE) and the run's progress
together. A crash loses at most the open batch, which the next run redoes; a client that
already has its invoices for the period is skipped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import calc, charges
from billing.calc import Billed, LeaseFacts, Month
from billing.config import DEFAULT_BATCH
from billing.db import driver
from billing.invoices import insert_deposit_refund
from billing.numbering import next_numbers, save_numbers
from domain.errors import ValidationFailed
from domain.models.invoice import BillingRun
from domain.services.audit import Actor, AuditEntry, SystemActor, record, record_many

LOOKBACK_MONTHS = 12
# the author of what a run issues (the run itself was created, and audited, by whoever queued it)
RUN_ACTOR = SystemActor("billing-run")

LINE_COLUMNS = (
    "id",
    "invoice_id",
    "position",
    "kind",
    "trueup",
    "lease_id",
    "service_month",
    "service_start",
    "service_end",
    "description",
    "quantity",
    "unit_price_minor",
    "days",
    "period_days",
    "amount_minor",
    "tax_minor",
    "units",
)


def parse_period(period: str) -> Month:
    try:
        return Month.parse(period)
    except ValueError as exc:
        raise ValidationFailed("period must be YYYY-MM (a month between 2000 and 2200)", field="period") from exc


def billable_month(period: str, *, advance_days: int, today: date | None = None) -> Month:
    """The one rule for which months can be billed (API, admin page and CLI all call it).

    Seats are billed in advance: a month is accepted from `advance_days` before its first day, and
    any past month is accepted. Days are counted on the UTC calendar: one run bills every site,
    whatever its time zone, and the window is days wide where the zones differ by hours.
    Refused before anything is written, so a refused run takes no invoice numbers."""
    month = parse_period(period)
    today = today or datetime.now(UTC).date()
    opens = month.first - timedelta(days=advance_days)
    if today < opens:
        raise ValidationFailed(
            f"period {month} is too far ahead: a month can be billed from {advance_days} days before it starts "
            f"(from {opens.isoformat()}, UTC)",
            field="period",
        )
    return month


async def create_run(
    session: AsyncSession, actor: Actor, period: str, *, advance_days: int, today: date | None = None
) -> BillingRun:
    month = billable_month(period, advance_days=advance_days, today=today)
    run = BillingRun(id=uuid.uuid4(), period=str(month), status="queued", created_by=actor.subject)
    session.add(run)
    await session.flush()
    await record(session, actor, "billing_run.create", "billing_run", run.id, after={"period": str(month)})
    return run


async def open_run_for(maker: async_sessionmaker[AsyncSession], actor: Actor, period: str, *, advance_days: int) -> uuid.UUID:
    """The unfinished run of the period to resume (after a crash), or a new one."""
    month = billable_month(period, advance_days=advance_days)
    async with maker() as session, session.begin():
        conn = await driver(session)
        found = await conn.fetchval(
            "SELECT id FROM billing_runs WHERE period = $1 AND status IN ('queued','running','failed') "
            "ORDER BY created_at DESC LIMIT 1 FOR UPDATE SKIP LOCKED",
            str(month),
        )
        if found is not None:
            return uuid.UUID(str(found))
        run = await create_run(session, actor, str(month), advance_days=advance_days)
        return run.id


@dataclass
class RunResult:
    run_id: uuid.UUID
    period: str
    clients_total: int
    clients_done: int
    invoices_created: int
    invoices_count: int
    credit_notes_created: int
    status: str


async def _invoiced_months(conn: Any, month: Month) -> list[Month]:
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
     OR EXISTS (SELECT 1 FROM invoice_lines il WHERE il.lease_id = l.id AND il.service_month >= $1)
     OR (EXISTS (SELECT 1 FROM invoice_lines il WHERE il.lease_id = l.id AND il.kind = 'deposit')
         AND NOT EXISTS (SELECT 1 FROM credit_notes cn WHERE cn.dedupe_key = 'deposit:' || l.id::text)))
ORDER BY l.client_id
"""


async def _load_facts(conn: Any, client_ids: list[uuid.UUID], month: Month, lookback: date) -> list[tuple[Any, LeaseFacts]]:
    leases = await conn.fetch(
        """SELECT l.id, l.client_id, l.site_id, l.plan_id, l.shift_code, l.start_date, l.end_date, l.status,
                  l.discount_pct, p.name AS plan_name, p.monthly_price_minor, p.setup_fee_minor, p.deposit_months
           FROM leases l JOIN plans p ON p.id = l.plan_id
           WHERE l.client_id = ANY($1::uuid[]) AND l.start_date <= $2
           ORDER BY l.client_id, l.site_id, l.start_date, l.id""",
        client_ids,
        month.last,
    )
    if not leases:
        return []
    lease_ids = [r["id"] for r in leases]
    seats: dict[uuid.UUID, list[calc.SeatSpan]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT lease_id, start_date, end_date FROM lease_seats
           WHERE lease_id = ANY($1::uuid[]) AND NOT voided AND start_date <= $2
             AND (end_date IS NULL OR end_date >= $3)""",
        lease_ids,
        month.last,
        lookback,
    ):
        seats[r["lease_id"]].append(calc.SeatSpan(r["start_date"], r["end_date"]))
    add_ons: dict[uuid.UUID, list[calc.AddOnFacts]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT la.lease_id, i.code, i.name, i.billing, i.unit_price_minor, la.quantity
           FROM lease_add_ons la JOIN inclusions i ON i.id = la.inclusion_id
           WHERE la.lease_id = ANY($1::uuid[])""",
        lease_ids,
    ):
        add_ons[r["lease_id"]].append(calc.AddOnFacts(r["code"], r["name"], r["billing"], r["unit_price_minor"], r["quantity"]))
    included: dict[uuid.UUID, list[calc.IncludedFacts]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT plan_id, code, name, quantity_per_seat FROM inclusions
           WHERE billing = 'included' AND plan_id = ANY($1::uuid[])""",
        list({r["plan_id"] for r in leases}),
    ):
        included[r["plan_id"]].append(calc.IncludedFacts(r["code"], r["name"], r["quantity_per_seat"]))
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
                    seats=tuple(sorted(seats[r["id"]], key=lambda s: (s.start, s.end or date.max))),
                    add_ons=tuple(add_ons[r["id"]]),
                    included=tuple(included[r["plan_id"]]),
                ),
            )
        )
    return out


async def _load_billed(conn: Any, lease_ids: list[uuid.UUID]) -> dict[uuid.UUID, Billed]:
    rows = await conn.fetch(
        """SELECT il.lease_id, il.kind, il.service_month, sum(il.amount_minor) AS amount_minor,
                  sum(il.units) AS units
           FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
           WHERE il.lease_id = ANY($1::uuid[]) AND i.status <> 'void'
           GROUP BY il.lease_id, il.kind, il.service_month""",
        lease_ids,
    )
    billed = calc.billed_from_rows(rows)
    for r in await conn.fetch(
        "SELECT dedupe_key FROM credit_notes WHERE dedupe_key = ANY($1::text[])", [f"deposit:{i}" for i in lease_ids]
    ):
        billed[uuid.UUID(r["dedupe_key"].split(":", 1)[1])].deposit_refunded = True
    return billed


async def _bill_batch(  # noqa: C901 — one batch is one transaction: facts, lines, excess credit, numbers and writes read best in order
    session: AsyncSession,
    conn: Any,
    run_id: uuid.UUID,
    month: Month,
    client_ids: list[uuid.UUID],
    invoiced_months: list[Month],
    lookback: date,
    credit_threshold: int,
) -> tuple[int, int]:
    facts = await _load_facts(conn, client_ids, month, lookback)
    billed = await _load_billed(conn, [f.lease_id for _, f in facts])
    fees = await charges.pending_charges(conn, client_ids, month)
    site_ids = sorted({r["site_id"] for r, _ in facts} | {c["site_id"] for c in fees})
    sites = {
        r["id"]: r
        for r in await conn.fetch("SELECT id, code, currency, tax_rate, timezone FROM sites WHERE id = ANY($1::uuid[])", site_ids)
    }
    terms = {
        r["id"]: r["payment_terms_days"]
        for r in await conn.fetch("SELECT id, payment_terms_days FROM clients WHERE id = ANY($1::uuid[])", client_ids)
    }

    numbers = await next_numbers(conn, site_ids, "invoice")
    # counters are locked: a concurrent run cannot be issuing for these sites, so what exists now is final
    done = {
        r["client_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT client_id FROM invoices WHERE period = $1 AND client_id = ANY($2::uuid[])", str(month), client_ids
        )
    }

    per_invoice: dict[tuple[uuid.UUID, uuid.UUID], list[calc.Line]] = defaultdict(list)
    refunds: list[tuple[Any, int]] = []
    for r, f in facts:
        if r["client_id"] in done:
            continue
        b = billed.get(f.lease_id, Billed())
        lines = calc.lease_lines(f, month, b, invoiced_months)
        if lines:
            per_invoice[(r["client_id"], r["site_id"])].extend(lines)
        refund = calc.deposit_refund_due(f, month, b)
        if refund:
            refunds.append((r, refund))
    fees = [c for c in fees if c["client_id"] not in done]
    for c in fees:
        per_invoice[(c["client_id"], c["site_id"])].append(charges.charge_line(c))
    invoice_ids: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}

    invoices: list[tuple[Any, ...]] = []
    line_records: list[tuple[Any, ...]] = []
    audits: list[AuditEntry] = []
    notes: list[tuple[Any, ...]] = []
    note_numbers: dict[uuid.UUID, int] = {}
    for (client_id, site_id), lines in sorted(per_invoice.items(), key=lambda kv: (str(kv[0][1]), str(kv[0][0]))):
        site = sites[site_id]
        taxed = calc.with_tax(lines, Decimal(site["tax_rate"]))
        t = calc.totals(taxed)
        number = numbers[site_id]
        numbers[site_id] = number + 1
        inv_id = invoice_ids[(client_id, site_id)] = uuid.uuid4()
        issue = month.first
        excess = calc.excess_credit(t)
        if excess is not None:
            if site_id not in note_numbers:
                note_numbers.update(await next_numbers(conn, [site_id], "credit_note"))
            label = f"{site['code']}-{number:06d}"
            taxed.append(
                await _carry_excess(conn, inv_id, label, client_id, site, month, taxed, excess, note_numbers, notes, audits)
            )
            t = calc.totals(taxed)
        invoices.append(
            (
                inv_id,
                client_id,
                site_id,
                str(month),
                site["currency"],
                "issued",
                number,
                f"{site['code']}-{number:06d}",
                issue,
                issue + timedelta(days=terms[client_id]),
                t.subtotal_minor,
                t.tax_minor,
                t.total_minor,
                run_id,
            )
        )
        for pos, x in enumerate(taxed, start=1):
            line_records.append(
                (
                    uuid.uuid4(),
                    inv_id,
                    pos,
                    x.kind,
                    x.trueup,
                    x.lease_id,
                    x.service_month,
                    x.service_start,
                    x.service_end,
                    x.description[:500],
                    x.quantity,
                    x.unit_price_minor,
                    x.days,
                    x.period_days,
                    x.amount_minor,
                    x.tax_minor,
                    x.units,
                )
            )
        audits.append(
            AuditEntry(
                "invoice.issue",
                "invoice",
                inv_id,
                client_id=client_id,
                after={
                    "number": f"{site['code']}-{number:06d}",
                    "period": str(month),
                    "total_minor": t.total_minor,
                    "currency": site["currency"],
                },
            )
        )
    if invoices:
        await conn.executemany(
            """INSERT INTO invoices (id, client_id, site_id, period, currency, status, number, number_label,
                                     issue_date, due_date, subtotal_minor, tax_minor, total_minor, billing_run_id,
                                     issued_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14, now())""",
            invoices,
        )
        await conn.copy_records_to_table("invoice_lines", records=line_records, columns=list(LINE_COLUMNS))
        await record_many(session, RUN_ACTOR, audits)
        await charges.mark_billed(conn, fees, invoice_ids)
    await save_numbers(conn, numbers, "invoice")
    created_notes = 0
    if notes:
        await conn.executemany(
            """INSERT INTO credit_notes (id, invoice_id, client_id, site_id, currency, kind, status, number, number_label,
                                         reason, amount_minor, tax_minor, total_minor, issue_date, issued_at, dedupe_key)
               VALUES ($1, $2, $3, $4, $5, 'trueup', 'issued', $6, $7, $8, $9, $10, $11, $12, now(), $13)""",
            notes,
        )
        await save_numbers(conn, note_numbers, "credit_note")
        created_notes += len(notes)
    if refunds:
        for r, amount in refunds:
            created_notes += await insert_deposit_refund(conn, r, amount, month, credit_threshold)
    return len(invoices), created_notes


CORRECTED_SQL = """
SELECT DISTINCT ON (il.lease_id, il.service_month) il.lease_id, il.service_month, i.id, i.number_label
FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
WHERE i.status <> 'void' AND i.client_id = $1 AND i.site_id = $2
  AND (il.lease_id, il.service_month) IN (SELECT * FROM unnest($3::uuid[], $4::date[]))
ORDER BY il.lease_id, il.service_month, il.trueup, i.issue_date, i.number
"""


async def _carry_excess(
    conn: Any,
    inv_id: uuid.UUID,
    inv_label: str,
    client_id: uuid.UUID,
    site: Any,
    month: Month,
    lines: list[calc.Line],
    excess: calc.Excess,
    note_numbers: dict[uuid.UUID, int],
    notes: list[tuple[Any, ...]],
    audits: list[AuditEntry],
) -> calc.Line:
    """An invoice whose true-up credits exceed its charges is issued at zero: the excess leaves it
    on a `credit_transfer` line and becomes credit notes against the invoices that billed the
    months being trued up. These credit notes are issued at once, whatever the approval threshold:
    they are the arithmetic of lease changes already made and audited, and the invoice they
    balance is issued in the same transaction, so it never points at an unissued document."""
    credits = [x for x in lines if x.trueup and x.amount_minor + x.tax_minor < 0 and x.lease_id and x.service_month]
    found = {
        (r["lease_id"], r["service_month"]): (r["id"], r["number_label"])
        for r in await conn.fetch(
            CORRECTED_SQL, client_id, site["id"], [x.lease_id for x in credits], [x.service_month for x in credits]
        )
    }
    weights: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for x in credits:
        if (x.lease_id, x.service_month) in found:
            weights[found[(x.lease_id, x.service_month)]] -= x.amount_minor + x.tax_minor
    if not weights:  # cannot happen (a credit true-up undoes a charge some invoice made); never go negative
        raise RuntimeError(f"invoice {inv_label}: true-up credit without the invoice it corrects")
    corrected = sorted(weights.items(), key=lambda kv: (-kv[1], str(kv[0][1])))
    parts = calc.split_excess(excess, [w for _, w in corrected])
    labels = []
    for ((target, target_label), _), part in zip(corrected, parts, strict=True):
        if part.total_minor == 0:
            continue
        n = note_numbers[site["id"]]
        note_numbers[site["id"]] = n + 1
        note_id, note_label = uuid.uuid4(), f"{site['code']}-CN-{n:06d}"
        labels.append(note_label)
        notes.append(
            (
                note_id,
                target,
                client_id,
                site["id"],
                site["currency"],
                n,
                note_label,
                f"True-up credit in excess of invoice {inv_label} ({month}), correcting {target_label}",
                part.amount_minor,
                part.tax_minor,
                part.total_minor,
                month.first,
                f"trueup:{inv_id}:{target}",
            )
        )
        audits.append(
            AuditEntry(
                "credit_note.issue",
                "credit_note",
                note_id,
                client_id=client_id,
                after={
                    "number": note_label,
                    "kind": "trueup",
                    "invoice": target_label,
                    "from_invoice": inv_label,
                    "total_minor": part.total_minor,
                },
            )
        )
    return calc.Line(
        kind="credit_transfer",
        description=f"Credit in excess of this invoice's charges, carried to credit note "
        f"{', '.join(labels)} against {', '.join(lbl for (_, lbl), _ in corrected)}",
        quantity=1,
        unit_price_minor=excess.amount_minor,
        amount_minor=excess.amount_minor,
        tax_minor=excess.tax_minor,
    )


async def execute_run(
    maker: async_sessionmaker[AsyncSession],
    run_id: uuid.UUID,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    pause_seconds: float = 0.0,
    credit_threshold: int = 5_000_000,
) -> RunResult:
    """Bill the run's month; safe to call again on the same run or on a new run of the same month."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        run = await conn.fetchrow(
            "UPDATE billing_runs SET status = 'running', started_at = coalesce(started_at, now()), heartbeat_at = now(),"
            " error = NULL WHERE id = $1 RETURNING period",
            run_id,
        )
        if run is None:
            raise ValidationFailed("no such billing run", field="id")
        month = Month.parse(run["period"])
        invoiced = await _invoiced_months(conn, month)
        lookback = (invoiced[0] if invoiced else month).first
        candidates = sorted(
            {r["client_id"] for r in await conn.fetch(CANDIDATES_SQL, lookback, month.last)}
            | set(await charges.clients_with_pending_charges(conn, month))
        )
        already = {
            r["client_id"] for r in await conn.fetch("SELECT DISTINCT client_id FROM invoices WHERE period = $1", str(month))
        }
        todo = [c for c in candidates if c not in already]
        total = len(set(candidates) | already)
        await conn.execute(
            "UPDATE billing_runs SET clients_total = $2, clients_done = $3 WHERE id = $1", run_id, total, total - len(todo)
        )
    done = total - len(todo)
    if progress:
        progress(done, total)
    created = notes = 0
    try:
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            async with maker() as session, session.begin():
                conn = await driver(session)
                n_inv, n_cn = await _bill_batch(session, conn, run_id, month, batch, invoiced, lookback, credit_threshold)
                created += n_inv
                notes += n_cn
                done += len(batch)
                await conn.execute(
                    "UPDATE billing_runs SET clients_done = $2, heartbeat_at = now(),"
                    " credit_notes_count = credit_notes_count + $3 WHERE id = $1",
                    run_id,
                    done,
                    n_cn,
                )
            if progress:
                progress(done, total)
            if pause_seconds:
                await asyncio.sleep(pause_seconds)
    except Exception as exc:
        async with maker() as session, session.begin():
            conn = await driver(session)
            await conn.execute(
                "UPDATE billing_runs SET status = 'failed', error = $2 WHERE id = $1",
                run_id,
                f"{type(exc).__name__}: {exc}"[:2000],
            )
        raise
    async with maker() as session, session.begin():
        conn = await driver(session)
        count = await conn.fetchval("SELECT count(*) FROM invoices WHERE period = $1", str(month))
        await conn.execute(
            "UPDATE billing_runs SET status = 'done', finished_at = now(), heartbeat_at = now(), invoices_count = $2"
            " WHERE id = $1",
            run_id,
            count,
        )
    return RunResult(run_id, str(month), total, done, created, int(count), notes, "done")


CLAIM_SQL = """
UPDATE billing_runs SET status = 'running', heartbeat_at = now()
WHERE id = (SELECT id FROM billing_runs
            WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < now() - interval '2 minutes')
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


async def claim_run(maker: async_sessionmaker[AsyncSession]) -> uuid.UUID | None:
    """A queued run, or one whose executor stopped sending heartbeats (crashed)."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        found = await conn.fetchval(CLAIM_SQL)
        return uuid.UUID(str(found)) if found else None
