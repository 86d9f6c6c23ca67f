"""Driving a billing run: the one code path the worker and `seatlease billing run` share.

The API, the admin and the CLI queue a run; whoever claims it drives it (`billing.run.execute_run`).
A driver holds the run's advisory lock for as long as it bills, in a transaction of its own kept
open beside the batches' transactions, so:
- two drivers never bill the same run at once (a CLI asking for a month a worker is billing waits
  for the worker, then reports the finished run);
- a driver that dies (SIGKILL, lost connection) lets go at once: PostgreSQL ends its transaction,
  and the next driver resumes the run where the dead one stopped, without waiting for a heartbeat
  to go stale.
The lock only decides who drives; the invoices stay once per client and gapless under any number
of drivers because each batch locks its sites' number counters (billing/run.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.config import BillingSettings
from billing.db import driver
from billing.run import RunResult, billable_month, create_run, execute_run
from domain.services.audit import Actor, record

# the statuses a driver picks up: a queued run, or one left running by a driver that died (its lock is free)
_DRIVABLE = ("queued", "running")
# how many of the oldest drivable runs a worker tries before it gives up for this pass
_CANDIDATES = 20
# how often a CLI waiting for another driver's run looks again (each look is one short statement)
WAIT_POLL_SECONDS = 0.5

_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('billing_run:' || $1::uuid::text))"


async def queue_run_for(maker: async_sessionmaker[AsyncSession], actor: Actor, period: str, *, advance_days: int) -> uuid.UUID:
    """The period's unfinished run (queued, running or failed: the CLI resumes it), or a new queued one."""
    month = billable_month(period, advance_days=advance_days)
    async with maker() as session, session.begin():
        conn = await driver(session)
        found = await conn.fetchval(
            "SELECT id FROM billing_runs WHERE period = $1 AND status IN ('queued','running','failed') "
            "ORDER BY created_at DESC LIMIT 1",
            str(month),
        )
        if found is not None:
            return uuid.UUID(str(found))
        run = await create_run(session, actor, str(month), advance_days=advance_days)
        return run.id


@asynccontextmanager
async def _lock_holder(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Any]:
    """A transaction that holds the run locks taken in it until the drive ends (or the process dies).
    It writes nothing, so it takes no transaction id and holds back no vacuum while a run bills."""
    async with maker() as session, session.begin():
        yield await driver(session)


async def _claim(maker: async_sessionmaker[AsyncSession], actor: Actor, run_id: uuid.UUID) -> None:
    async with maker() as session, session.begin():
        await record(session, actor, "billing_run.claim", "billing_run", run_id, after={"driver": actor.label})


async def _drive(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    run_id: uuid.UUID,
    settings: BillingSettings,
    progress: Callable[[int, int], None] | None,
) -> RunResult:
    await _claim(maker, actor, run_id)
    return await execute_run(
        maker,
        run_id,
        batch_size=settings.run_batch_size,
        progress=progress,
        pause_seconds=settings.run_pause_seconds,
        credit_threshold=settings.credit_note_approval_threshold_minor,
        draft_review=settings.draft_review,
    )


async def drive_next(maker: async_sessionmaker[AsyncSession], actor: Actor, settings: BillingSettings) -> RunResult | None:
    """The worker's turn: claim the oldest queued run (or one whose driver died) and bill it; None when
    every drivable run is taken or there is none. A failed run stays failed (`seatlease billing run`
    resumes it)."""
    async with _lock_holder(maker) as lock:
        ids = await lock.fetch(
            "SELECT id FROM billing_runs WHERE status = ANY($1::text[]) ORDER BY created_at LIMIT $2",
            list(_DRIVABLE),
            _CANDIDATES,
        )
        for row in ids:
            run_id = row["id"]
            if not await lock.fetchval(_TRY_LOCK, run_id):
                continue
            # locked: read again, another driver may have finished it since the list was read
            if await lock.fetchval("SELECT status FROM billing_runs WHERE id = $1", run_id) in _DRIVABLE:
                return await _drive(maker, actor, run_id, settings, None)
        return None


async def drive_run(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    run_id: uuid.UUID,
    settings: BillingSettings,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Drive this run to its end: claim it, waiting while another driver holds it; bill what is left
    (nothing, when the other driver finished it). `invoices_created` counts what this call billed."""
    async with _lock_holder(maker) as lock:
        # polled, not blocked on: a blocking lock wait would end at the connection's lock_timeout
        while not await lock.fetchval(_TRY_LOCK, run_id):  # noqa: ASYNC110 — the other driver is another process
            await asyncio.sleep(WAIT_POLL_SECONDS)
        row = await lock.fetchrow(
            "SELECT period, status, clients_total, clients_done, invoices_count FROM billing_runs WHERE id = $1",
            run_id,
        )
        if row is not None and row["status"] == "done":
            # another driver billed it while this one waited
            return RunResult(
                run_id,
                row["period"],
                row["clients_total"],
                row["clients_done"],
                0,
                row["invoices_count"],
                0,
                "done",
            )
        return await _drive(maker, actor, run_id, settings, progress)
