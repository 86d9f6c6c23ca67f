"""The reconciler cannot die: faults injected for real (the worker's pool held past its timeout, the
credentials table locked past the lock timeout) fail passes, which are logged and retried; once the
fault clears, the ended lease's accounts are disabled in the SCIM server without a restart, and the
worker's liveness (worker_liveness, /healthz, /metrics) shows the failures and the passes since."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker, create_async_engine

from provisioning.config import ProvisioningConfig
from provisioning.liveness import Liveness
from provisioning.worker import make_reconciler, run_forever
from service.app import create_app
from service.db import make_sessionmaker
from service.worker import RECONCILER_TASK
from service.worker import run_forever as service_run_forever
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today
from tests.provisioning.servers import FlakyScim

logger = logging.getLogger("tests.provisioning.liveness")
DIRECTORY_ONLY = {"badge_webhook_url": None, "radius_database_url": None}


async def _scim_active(url: str, lease_creds: list[Any]) -> list[bool]:
    async with httpx.AsyncClient() as c:
        return [(await c.get(f"{url}/Users/{r['external_id']}")).json()["active"] for r in lease_creds]


async def _wait(check: Any, timeout: float, what: str) -> float:  # noqa: ASYNC109 - see below
    # polls (asyncio.timeout would cancel a check half-way), returns the time taken and fails naming `what`
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, what
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def _directory(db: asyncpg.Pool, lease: dict[str, Any]) -> list[Any]:
    return await db.fetch(
        "SELECT * FROM credentials WHERE lease_id = $1 AND kind = 'directory' ORDER BY id", uuid.UUID(lease["id"])
    )


async def _passed_since(db: asyncpg.Pool, worker_id: str, at: Any) -> bool:
    last = await db.fetchval("SELECT last_pass_at FROM worker_liveness WHERE id = $1", worker_id)
    return last is not None and last > at


async def _end(staff: Api, lease: dict[str, Any]) -> None:
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=1)).isoformat()}, expect=200)


async def test_reconciler_survives_a_held_pool_and_a_locked_table(
    staff: Api,
    db: asyncpg.Pool,
    app: FastAPI,
    database_url: str,
    scim: tuple[FlakyScim, str],
    prov_config: Callable[..., ProvisioningConfig],
) -> None:
    _, url = scim
    # the worker's own engine: a small pool that gives up quickly
    engine = create_async_engine(database_url, pool_size=2, max_overflow=0, pool_timeout=0.5)
    maker = make_sessionmaker(engine)
    rec = make_reconciler(
        maker,
        prov_config(
            **DIRECTORY_ONLY,
            pass_retry_base_seconds=0.2,
            pass_retry_cap_seconds=1.0,
            lock_timeout_seconds=0.5,
            statement_timeout_seconds=5.0,
            sweep_interval_seconds=3600,
        ),
    )
    worker_id = f"test-fault:{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(maker, app.state.settings.provisioning(), stop, reconciler=rec, worker_id=worker_id))
    try:
        one = await seated_lease(staff, await make_world(staff), seats=2)
        two = await seated_lease(staff, await make_world(staff), seats=2)

        async def granted() -> bool:
            rows = [*await _directory(db, one), *await _directory(db, two)]
            return len(rows) == 4 and all(r["state"] == "active" for r in rows)

        await _wait(granted, 20, "not granted")

        # fault 1: every connection of the worker's pool held, far past its pool timeout
        held: list[AsyncConnection] = []
        while len(held) < 2:
            try:
                held.append(await engine.connect())
            except Exception:  # the worker has it at this moment
                await asyncio.sleep(0.05)
        try:
            await _end(staff, one)
            await asyncio.sleep(3.0)  # passes fail on the pool timeout meanwhile (0.5 s each)
            assert await _scim_active(url, await _directory(db, one)) == [True, True], "the fault held"
        finally:
            for conn in held:
                await conn.close()
        cleared_at = await db.fetchval("SELECT now()")

        async def revoked_one() -> bool:
            return await _scim_active(url, await _directory(db, one)) == [False, False]

        took = await _wait(revoked_one, 20, "the ended lease's accounts were not disabled after the pool fault")
        assert not task.done(), "the reconciler loop is still running"
        await _wait(lambda: _passed_since(db, worker_id, cleared_at), 10, "liveness did not advance")
        row = await db.fetchrow("SELECT * FROM worker_liveness WHERE id = $1", worker_id)
        assert row["failed_passes"] >= 2
        assert "TimeoutError" in row["last_error"]
        logger.warning("pool fault: revoked %.2f s after it cleared; %d failed passes", took, row["failed_passes"])

        # fault 2: the credentials table locked, far past the worker's lock timeout
        failed_before = row["failed_passes"]
        async with db.acquire() as locker:
            tx = locker.transaction()
            await tx.start()
            try:
                await locker.execute("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE")
                await _end(staff, two)

                async def failing() -> bool:
                    n = await db.fetchval("SELECT failed_passes FROM worker_liveness WHERE id = $1", worker_id)
                    return bool(n and n >= failed_before + 2)

                await _wait(failing, 20, "passes did not fail on the lock")
                last_error = await db.fetchval("SELECT last_error FROM worker_liveness WHERE id = $1", worker_id)
                assert "lock" in last_error.lower()
            finally:
                await tx.rollback()
        cleared_at = await db.fetchval("SELECT now()")

        async def revoked_two() -> bool:
            return await _scim_active(url, await _directory(db, two)) == [False, False]

        took = await _wait(revoked_two, 20, "the ended lease's accounts were not disabled after the lock fault")
        assert not task.done()
        await _wait(lambda: _passed_since(db, worker_id, cleared_at), 10, "liveness did not advance")
        row = await db.fetchrow("SELECT * FROM worker_liveness WHERE id = $1", worker_id)
        logger.warning("lock fault: revoked %.2f s after it cleared; %d failed passes", took, row["failed_passes"])
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        await engine.dispose()
    assert task.exception() is None


async def test_the_worker_restarts_a_reconciler_task_that_ended(
    staff: Api, db: asyncpg.Pool, app: FastAPI, maker: async_sessionmaker[AsyncSession], scim: tuple[FlakyScim, str]
) -> None:
    _, scim_url = scim
    settings = app.state.settings.model_copy(
        update={
            "scim_base_url": scim_url,
            "radius_database_url": None,
            "badge_webhook_url": None,
            "worker_interval_seconds": 3600.0,
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service_run_forever(maker, settings, stop))

    def reconciler() -> asyncio.Task[Any] | None:
        return next((t for t in asyncio.all_tasks() if t.get_name() == RECONCILER_TASK and not t.done()), None)

    try:
        await asyncio.sleep(0.5)
        first = reconciler()
        assert first is not None
        first.cancel()  # the task ends while the worker runs (as if it had died)

        async def restarted() -> bool:
            now = reconciler()
            return now is not None and now is not first

        await _wait(restarted, 10, "the reconciler task was not restarted")
        # the restarted loop does the work: only its LISTEN/NOTIFY loop runs (the periodic pass is an hour apart)
        lease = await seated_lease(staff, await make_world(staff), seats=2)

        async def granted() -> bool:
            rows = await _directory(db, lease)
            return len(rows) == 2 and all(r["state"] == "active" for r in rows)

        await _wait(granted, 20, "the restarted reconciler did not grant")
        await _end(staff, lease)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
    assert task.exception() is None


async def _health(app_: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return await c.get("/healthz")


async def test_healthz_names_stale_workers_and_answers_when_the_database_does_not(
    http: httpx.AsyncClient,
    staff: Api,
    db: asyncpg.Pool,
    app: FastAPI,
    maker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    await db.execute("DELETE FROM worker_liveness")
    r = await http.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["workers"] == []
    assert "no worker" in r.json()["workers_note"]

    fresh = Liveness(maker, "reconciler", worker_id="test-fresh")
    await fresh.passed({})
    stale = Liveness(maker, "reconciler", worker_id="test-stale")
    await stale.failed(RuntimeError("boom"))
    await stale.passed({})
    body = (await http.get("/healthz")).json()
    assert body["status"] == "ok", body
    assert {w["id"] for w in body["workers"]} == {"test-fresh", "test-stale"}

    # test-stale's last pass was an hour ago
    await db.execute(
        "UPDATE worker_liveness SET last_pass_at = now() - interval '1 hour', "
        "updated_at = now() - interval '1 hour' WHERE id = 'test-stale'"
    )
    r = await http.get("/healthz")
    assert r.status_code == 200  # the API itself serves: it stays in the load balancer
    assert r.json()["status"] == "degraded"
    assert r.json()["stale_workers"] == ["test-stale"]

    metrics = (await staff.call("GET", "/metrics", 200)).text
    assert 'seatlease_worker_seconds_since_last_pass{role="reconciler",worker="test-stale"} 3' in metrics
    assert 'seatlease_worker_failed_passes_total{role="reconciler",worker="test-stale"} 1.0' in metrics
    assert "seatlease_workers_stale 1.0" in metrics

    # stale rows are pruned once a worker writes: a worker gone that long is not a worker
    pruner = Liveness(maker, "periodic", worker_id="test-pruner", prune_seconds=600)
    await pruner.passed({})
    ids = {r["id"] for r in await db.fetch("SELECT id FROM worker_liveness")}
    assert "test-stale" not in ids
    assert {"test-fresh", "test-pruner"} <= ids
    await db.execute("DELETE FROM worker_liveness WHERE id LIKE 'test-%'")

    # the database does not answer: 503 naming what is down, quickly
    settings = app.state.settings.model_copy(update={"healthz_timeout_seconds": 1.0})
    down = create_app(settings, database_url="postgresql+asyncpg://nobody:x@127.0.0.1:1/nothing")
    started = time.monotonic()
    r = await _health(down)
    assert r.status_code == 503
    assert r.json()["status"] == "down"
    assert r.json()["database"] == "unreachable"
    assert time.monotonic() - started < 3

    # every connection of the pool in use: 503 within the timeout, not a wait for the pool
    busy = create_app(settings, database_url=database_url)
    busy.state.engine = create_async_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=30)
    conn = await busy.state.engine.connect()
    try:
        started = time.monotonic()
        r = await _health(busy)
        assert r.status_code == 503
        assert r.json() == {"status": "down", "database": "pool exhausted", "error": "TimeoutError"}
        assert time.monotonic() - started < 3
    finally:
        await conn.close()
        await busy.state.engine.dispose()
    assert (await _health(busy)).status_code == 200
    await busy.state.engine.dispose()
    await down.state.engine.dispose()
