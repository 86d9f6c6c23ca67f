"""Rule 5 under contention: two runs of the same month at once, and a run cut short by a real lock
timeout then resumed, each leave every client billed once with gapless numbers (billing/run.py
reads the next batch while it writes the current one, so these are the guarantees to keep)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.drive import queue_run_for
from billing.run import create_run, execute_run
from domain.services.audit import SystemActor
from service.db import make_engine, make_sessionmaker
from tests.factories import Api, clients_with_one_seat, make_world

CLIENTS = 10


async def lease_clients(staff: Api, year: int) -> tuple[uuid.UUID, list[str]]:
    w = await make_world(staff, seats_per_zone=CLIENTS)
    return uuid.UUID(w.site["id"]), await clients_with_one_seat(staff, w, CLIENTS, f"{year}-05-01", name="Contention")


async def assert_billed_once(db: asyncpg.Pool, site_id: uuid.UUID, period: str, clients: list[str]) -> None:
    rows = await db.fetch("SELECT id, client_id, number FROM invoices WHERE site_id = $1 AND period = $2", site_id, period)
    assert sorted(str(r["client_id"]) for r in rows) == sorted(clients)  # each client once, none missing
    assert sorted(r["number"] for r in rows) == list(range(1, len(clients) + 1))  # gapless
    issued = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'invoice.issue' AND object_id = ANY($1::text[])",
        [str(r["id"]) for r in rows],
    )
    assert issued == len(clients)  # one audit event per invoice, none for a batch rolled back
    lines = await db.fetchval("SELECT count(*) FROM invoice_lines WHERE invoice_id = ANY($1::uuid[])", [r["id"] for r in rows])
    assert lines > 0
    assert lines % len(clients) == 0  # alike clients, alike invoices: no batch written twice


async def test_two_runs_of_the_same_month_at_once_bill_each_client_once(
    staff: Api, db: asyncpg.Pool, maker: async_sessionmaker[AsyncSession], fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    period = f"{y}-05"
    site_id, clients = await lease_clients(staff, y)
    runs = []
    for _ in range(2):
        async with maker() as session, session.begin():
            runs.append((await create_run(session, SystemActor("test"), period, advance_days=100_000)).id)
    # (a run bills every client of the month: other tests' open-ended leases too; count this site's)
    results = await asyncio.gather(*(execute_run(maker, r, batch_size=2) for r in runs))
    assert [r.status for r in results] == ["done", "done"]
    assert results[0].invoices_count == results[1].invoices_count
    await assert_billed_once(db, site_id, period, clients)


async def test_a_run_cut_short_by_a_lock_timeout_resumes_without_gaps_or_duplicates(
    staff: Api, db: asyncpg.Pool, database_url: str, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    period = f"{y}-05"
    site_id, clients = await lease_clients(staff, y)
    engine = make_engine(database_url, pool_size=4, lock_timeout_ms=300)
    maker = make_sessionmaker(engine)
    try:
        run_id = await queue_run_for(maker, SystemActor("test"), period, advance_days=100_000)
        task = asyncio.create_task(execute_run(maker, run_id, batch_size=2, pause_seconds=0.3))
        deadline = time.monotonic() + 30
        while await db.fetchval("SELECT count(*) FROM invoices WHERE site_id = $1", site_id) < 2:
            assert not task.done(), task
            assert time.monotonic() < deadline, "the run never got going"
            await asyncio.sleep(0.02)
        async with db.acquire() as blocker, blocker.transaction():
            # the site's invoice counter, held by someone else past the run's lock_timeout
            await blocker.execute(
                "SELECT 1 FROM billing_number_sequences WHERE site_id = $1 AND kind = 'invoice' FOR UPDATE", site_id
            )
            with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
                await asyncio.wait_for(task, 30)
        half = await db.fetchval("SELECT count(*) FROM invoices WHERE site_id = $1", site_id)
        assert 2 <= half < CLIENTS, half
        run = await db.fetchrow("SELECT status, error FROM billing_runs WHERE id = $1", run_id)
        assert run["status"] == "failed", run
        assert "LockNotAvailable" in run["error"], run

        again = await queue_run_for(maker, SystemActor("test"), period, advance_days=100_000)
        assert again == run_id  # the failed run is the one resumed
        result = await execute_run(maker, again, batch_size=2)
        assert result.status == "done"
    finally:
        await engine.dispose()
    await assert_billed_once(db, site_id, period, clients)
