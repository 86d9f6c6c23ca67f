"""The monthly billing run (PRODUCT.md rules 4 and 5): which months can be billed, queuing a run,
claiming it, and driving it batch by batch.

Idempotent and resumable: an invoice's identity is (client, site, period) under a unique key,
clients are billed in batches, each batch one transaction (billing/run_batch.py) that writes the
invoices, their lines, their gapless numbers (counter rows locked) and the run's progress
together. A crash loses at most the open batch, which the next run redoes; a client that
already has its invoices for the period is skipped. What a batch reads is in billing/run_facts.py.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import charges
from billing.config import DEFAULT_BATCH
from billing.db import driver
from billing.facts import Month
from billing.run_batch import bill_batch
from billing.run_facts import CANDIDATES_SQL, Prepared, invoiced_months, prepare_batch
from domain.errors import ValidationFailed
from domain.models.invoice import BillingRun
from domain.services.audit import Actor, record


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


async def execute_run(
    maker: async_sessionmaker[AsyncSession],
    run_id: uuid.UUID,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    pause_seconds: float = 0.0,
    credit_threshold: int = 5_000_000,
    draft_review: bool = False,
) -> RunResult:
    """Bill the run's month; safe to call again on the same run or on a new run of the same month.
    Under `draft_review` the run's invoices are drafts that finance reviews and issues (billing/drafts.py);
    a re-run skips the clients that have them, as it skips those already invoiced."""
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
        invoiced = await invoiced_months(conn, month)
        lookback = (invoiced[0] if invoiced else month).first
        candidates = sorted(
            {r["client_id"] for r in await conn.fetch(CANDIDATES_SQL, lookback, month.last)}
            | set(await charges.clients_with_pending_charges(conn, month))
        )
        already = {
            r["client_id"]
            for r in await conn.fetch("SELECT DISTINCT client_id FROM invoices WHERE period = $1 AND kind = 'run'", str(month))
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
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    # the next batch is read and computed (on a connection of its own) while this one is written:
    # the run's Python work overlaps the database's
    ahead: asyncio.Task[Prepared] | None = None
    # A run allocates millions of short-lived objects; each full collection the garbage collector
    # makes meanwhile would walk the whole process's heap as well (a quarter of the run's CPU time,
    # bench/bench_billing.py). Frozen, the objects that were there before the run are left out of
    # those walks; they are handed back (collectable as ever) when the run ends.
    gc.freeze()
    try:
        for i, batch in enumerate(batches):
            prep = await (ahead or _prepare(maker, batch, month, invoiced, lookback))
            ahead = None
            if i + 1 < len(batches):
                ahead = asyncio.create_task(_prepare(maker, batches[i + 1], month, invoiced, lookback))
            async with maker() as session, session.begin():
                conn = await driver(session)
                n_inv, n_cn = await bill_batch(session, conn, run_id, month, prep, credit_threshold, draft=draft_review)
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
    except BaseException as exc:
        if ahead is not None:
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)
        if not isinstance(exc, Exception):
            raise
        async with maker() as session, session.begin():
            conn = await driver(session)
            await conn.execute(
                "UPDATE billing_runs SET status = 'failed', error = $2 WHERE id = $1",
                run_id,
                f"{type(exc).__name__}: {exc}"[:2000],
            )
        raise
    finally:
        gc.unfreeze()
    async with maker() as session, session.begin():
        conn = await driver(session)
        count = await conn.fetchval("SELECT count(*) FROM invoices WHERE period = $1 AND kind = 'run'", str(month))
        await conn.execute(
            "UPDATE billing_runs SET status = 'done', finished_at = now(), heartbeat_at = now(), invoices_count = $2"
            " WHERE id = $1",
            run_id,
            count,
        )
    return RunResult(run_id, str(month), total, done, created, int(count), notes, "done")


async def _prepare(
    maker: async_sessionmaker[AsyncSession], batch: list[uuid.UUID], month: Month, invoiced: list[Month], lookback: date
) -> Prepared:
    async with maker() as session, session.begin():
        return await prepare_batch(await driver(session), batch, month, invoiced, lookback)
