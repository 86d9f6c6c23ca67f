"""A billing run has one driver: `seatlease billing run` (a real process) and workers asking for the
same month at once go through the same claim, one after the other, never together; each client is
billed once, with gapless numbers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import worker as billing_worker
from billing.config import BillingSettings
from tests.factories import Api, World, clients_with_one_seat, make_world

REPO = Path(__file__).resolve().parents[2]
RUN = "import sys; from service.cli_billing import billing_run_command; sys.exit(billing_run_command(sys.argv[1], sys.argv[2]))"
CLIENTS = 10
# slow enough (batches of 2, a pause between them) that the other party, a process that takes a
# second or two to start, arrives while one bills
SLOW = BillingSettings(run_batch_size=2, run_pause_seconds=1.0)


async def _cli(database_url: str, period: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEATLEASE_BILLING_BATCH": "2", "SEATLEASE_BILLING_PAUSE": "0.25"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, database_url, period, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return subprocess.CompletedProcess([], proc.returncode, out.decode(), err.decode())


async def _billed_once(db: asyncpg.Pool, w: World, period: str, clients: list[str]) -> None:
    rows = await db.fetch(
        "SELECT client_id, number FROM invoices WHERE site_id = $1 AND period = $2", uuid.UUID(w.site["id"]), period
    )
    assert sorted(str(r["client_id"]) for r in rows) == sorted(clients)  # each client once, none missing
    assert sorted(r["number"] for r in rows) == list(range(1, CLIENTS + 1))  # gapless


async def _claims(db: asyncpg.Pool, period: str) -> dict[str, list[str]]:
    """Each run of the month, with the drivers that claimed it."""
    rows = await db.fetch(
        "SELECT r.id, r.status, coalesce(array_agg(a.actor ORDER BY a.id) FILTER (WHERE a.id IS NOT NULL), '{}') AS drivers "
        "FROM billing_runs r LEFT JOIN audit_events a ON a.object_id = r.id::text AND a.action = 'billing_run.claim' "
        "WHERE r.period = $1 GROUP BY r.id, r.status",
        period,
    )
    assert {r["status"] for r in rows} == {"done"}
    return {str(r["id"]): list(r["drivers"]) for r in rows}


async def test_a_cli_run_waits_for_the_worker_driving_the_month(
    staff: Api,
    finance: Api,
    db: asyncpg.Pool,
    database_url: str,
    maker: async_sessionmaker[AsyncSession],
    fresh_year: Callable[..., int],
) -> None:
    period = f"{fresh_year()}-03"
    w = await make_world(staff, seats_per_zone=20)
    clients = await clients_with_one_seat(staff, w, CLIENTS, f"{period}-01", name="Race")
    run = await finance.post("/v1/billing/runs", {"period": period}, expect=202)

    worker = asyncio.create_task(billing_worker.run_once(maker, SLOW))
    while await db.fetchval("SELECT status FROM billing_runs WHERE id = $1", uuid.UUID(run["id"])) != "running":
        assert not worker.done(), worker.result()
        await asyncio.sleep(0.02)
    cli = await _cli(database_url, period)  # asks for the month the worker is billing
    assert (await worker)["runs"] == 1

    assert cli.returncode == 0, cli.stderr
    # the CLI took up the queued run, found the worker on it, waited, and reports it done
    assert f"billing run {run['id']} for {period}: done" in cli.stdout
    assert "invoices created now 0" in cli.stdout
    await _billed_once(db, w, period, clients)
    assert await _claims(db, period) == {run["id"]: ["worker"]}


async def test_a_cli_run_two_workers_and_the_api_asking_at_once_bill_each_client_once(
    staff: Api,
    finance: Api,
    db: asyncpg.Pool,
    database_url: str,
    maker: async_sessionmaker[AsyncSession],
    fresh_year: Callable[..., int],
) -> None:
    period = f"{fresh_year()}-03"
    w = await make_world(staff, seats_per_zone=20)
    clients = await clients_with_one_seat(staff, w, CLIENTS, f"{period}-01", name="Race")
    cli_done = asyncio.Event()

    async def worker() -> int:
        runs = 0
        while True:
            runs += (await billing_worker.run_once(maker, SLOW))["runs"]
            if cli_done.is_set() and not await db.fetchval(
                "SELECT count(*) FROM billing_runs WHERE period = $1 AND status <> 'done'", period
            ):
                return runs
            await asyncio.sleep(0.05)

    async def cli() -> subprocess.CompletedProcess[str]:
        try:
            return await _cli(database_url, period)
        finally:
            cli_done.set()

    done, *_ = await asyncio.gather(cli(), worker(), worker(), finance.post("/v1/billing/runs", {"period": period}, expect=202))
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout
    await _billed_once(db, w, period, clients)
    claims = await _claims(db, period)
    # however the race went, every run was claimed by one driver, once
    assert all(len(drivers) == 1 for drivers in claims.values()), claims
