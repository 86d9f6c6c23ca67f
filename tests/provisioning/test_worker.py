"""The worker reacts to lease changes at once (LISTEN/NOTIFY), not only on its periodic sweep."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.reconciler import Reconciler
from provisioning.worker import run_forever
from service.worker import jobs
from service.worker import run_forever as service_run_forever
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today
from tests.provisioning.servers import FlakyScim


async def test_notify_wakes_the_reconciler(
    staff: Api, db: asyncpg.Pool, app: FastAPI, maker: async_sessionmaker[AsyncSession], reconcilers: Callable[..., Reconciler]
) -> None:
    # sweeps every hour: only a NOTIFY can explain a prompt grant
    rec = reconcilers(radius_database_url=None, sweep_interval_seconds=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(maker, app.state.settings.provisioning(), stop, reconciler=rec))
    try:
        await asyncio.sleep(0.5)  # the first pass has run and the listener waits
        w = await make_world(staff)
        started = time.monotonic()
        lease = await seated_lease(staff, w, seats=2)
        while True:
            rows = await db.fetch("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
            if len(rows) == 4 and all(r["state"] == "active" for r in rows):
                break
            assert time.monotonic() - started < 15, "not woken by the lease change"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert task.done()
    assert task.exception() is None


async def test_a_dropped_listener_listens_again_at_once(
    staff: Api, db: asyncpg.Pool, app: FastAPI, maker: async_sessionmaker[AsyncSession], reconcilers: Callable[..., Reconciler]
) -> None:
    """The database ends the LISTEN connection (a restart, a failover, a cut) while the reconciler
    waits for its next sweep, an hour away: it must listen again at once, or every lease change
    until then is lost."""
    rec = reconcilers(radius_database_url=None, sweep_interval_seconds=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(maker, app.state.settings.provisioning(), stop, reconciler=rec))
    listening = "FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
    try:
        deadline = time.monotonic() + 15
        while not await db.fetchval(f"SELECT count(*) {listening}"):
            assert time.monotonic() < deadline, "never listened"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # its first pass is over: it waits for a NOTIFY or the sweep
        assert await db.fetchval(f"SELECT count(pg_terminate_backend(pid)) {listening}") == 1
        w = await make_world(staff)
        lease = await seated_lease(staff, w, seats=2)
        deadline = time.monotonic() + 15
        while True:
            rows = await db.fetch("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
            if len(rows) == 4 and all(r["state"] == "active" for r in rows):
                break
            assert time.monotonic() < deadline, f"the lease change was lost: {[r['state'] for r in rows]}"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert task.exception() is None


def test_service_worker_runs_the_provisioning_pass() -> None:
    assert "provisioning.worker" in {job.__module__ for job in jobs()}


async def test_seatlease_worker_grants_and_revokes_through_its_listener(
    staff: Api, db: asyncpg.Pool, app: FastAPI, maker: async_sessionmaker[AsyncSession], scim: tuple[FlakyScim, str]
) -> None:
    """`service.worker.run_forever` (what `seatlease worker` and `seatlease up` run): its periodic
    pass is an hour apart here, so only the reconciler's LISTEN/NOTIFY loop explains prompt work."""
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
    try:
        await asyncio.sleep(0.5)
        w = await make_world(staff)
        lease = await seated_lease(staff, w, seats=2)
        lease_id = uuid.UUID(lease["id"])

        async def states() -> list[str]:
            rows = await db.fetch(
                "SELECT state, disabled_at FROM credentials WHERE lease_id = $1 AND kind = 'directory'", lease_id
            )
            # revoking with disabled_at: the account is disabled; it is deleted after the grace period
            return sorted("disabled" if r["state"] == "revoking" and r["disabled_at"] else r["state"] for r in rows)

        deadline = time.monotonic() + 20
        while await states() != ["active", "active"]:
            assert time.monotonic() < deadline, f"not granted: {await states()}"
            await asyncio.sleep(0.1)

        yesterday = (site_today() - timedelta(days=1)).isoformat()
        await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": yesterday}, expect=200)
        deadline = time.monotonic() + 20
        while await states() != ["disabled", "disabled"]:
            assert time.monotonic() < deadline, f"not revoked: {await states()}"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
    assert task.exception() is None
