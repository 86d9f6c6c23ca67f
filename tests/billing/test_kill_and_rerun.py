"""Rule 5: a billing run killed half-way (SIGKILL of the process) and run again yields every invoice once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg

from tests.factories import Api, make_world, uniq

REPO = Path(__file__).resolve().parents[2]
RUN = "import sys; from service.cli_billing import billing_run_command; sys.exit(billing_run_command(sys.argv[1], sys.argv[2]))"
CLIENTS = 30


async def test_run_killed_half_way_then_rerun_bills_each_client_once(
    staff: Api, db: asyncpg.Pool, database_url: str, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    period = f"{y}-03"
    w = await make_world(staff, seats_per_zone=20)
    clients = []
    for _ in range(CLIENTS):
        c = await staff.post(
            "/v1/clients",
            {"legal_name": f"Kill test {uniq()}", "billing_email": "ap@client-example.com", "payment_terms_days": 15},
        )
        t = await staff.post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
        await staff.post(
            "/v1/leases",
            {
                "client_id": c["id"],
                "team_id": t["id"],
                "site_id": w.site["id"],
                "plan_id": w.plan["id"],
                "shift": "FULL",
                "start_date": f"{y}-03-01",
                "seat_count": 1,
            },
        )
        clients.append(c["id"])

    async def count() -> int:
        return int(
            await db.fetchval("SELECT count(*) FROM invoices WHERE site_id = $1 AND period = $2", uuid.UUID(w.site["id"]), period)
        )

    env = {**os.environ, "SEATLEASE_BILLING_BATCH": "2", "SEATLEASE_BILLING_PAUSE": "0.4"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, database_url, period, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while await count() < 4:
        assert proc.returncode is None, (await proc.stderr.read()).decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the run never got going"
        await asyncio.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    half = await count()
    assert 0 < half < CLIENTS, half
    run = await db.fetchrow("SELECT status, clients_done FROM billing_runs WHERE period = $1", period)
    assert run["status"] == "running"  # it died without finishing

    env.pop("SEATLEASE_BILLING_PAUSE")
    again = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", RUN, database_url, period],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "done" in again.stdout

    rows = await db.fetch(
        "SELECT client_id, number, total_minor, status FROM invoices WHERE site_id = $1 AND period = $2",
        uuid.UUID(w.site["id"]),
        period,
    )
    assert sorted(str(r["client_id"]) for r in rows) == sorted(clients)  # each client once, none missing
    assert sorted(r["number"] for r in rows) == list(range(1, CLIENTS + 1))  # gapless
    # seat 15,000.00 + setup 2,500.00 (+12% tax on both) + deposit 15,000.00 (no tax)
    assert {r["total_minor"] for r in rows} == {1_500_000 * 112 // 100 + 250_000 * 112 // 100 + 1_500_000}
    assert {r["status"] for r in rows} == {"issued"}
    runs = await db.fetch("SELECT status FROM billing_runs WHERE period = $1", period)
    assert [r["status"] for r in runs] == ["done"]  # the second process resumed the same run

    # and a third time: nothing new
    third = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", RUN, database_url, period],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert third.returncode == 0
    assert "invoices created now 0" in third.stdout
    assert await count() == CLIENTS
