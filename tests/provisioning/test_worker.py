"""The worker reacts to lease changes at once (LISTEN/NOTIFY), not only on its periodic sweep."""

from __future__ import annotations

import asyncio
import time
import uuid

from provisioning.worker import run_forever
from service.worker import jobs
from tests.factories import make_world
from tests.provisioning.helpers import seated_lease


async def test_notify_wakes_the_reconciler(staff, db, app, maker, reconcilers):
    # sweeps every hour: only a NOTIFY can explain a prompt grant
    rec = reconcilers(radius_database_url=None, sweep_interval_seconds=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(maker, app.state.settings, stop, reconciler=rec))
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


def test_service_worker_runs_the_provisioning_pass():
    assert "provisioning.worker" in {job.__module__ for job in jobs()}
