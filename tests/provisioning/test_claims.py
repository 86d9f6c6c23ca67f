"""Claimed batches: two workers split the revocations and make each exactly once at the target; a
worker that dies or freezes with a batch claimed loses it to the other (its claim expires)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.utils import load_default_provider

from provisioning.reconciler import Reconciler
from service.settings import Settings
from tests.factories import Api, make_world, uniq
from tests.provisioning.helpers import seated_lease, site_today, until
from tests.provisioning.servers import ThreadServer

ROOT = Path(__file__).resolve().parents[2]
Scope = dict[str, Any]


class SlowScim:
    """scim2-server answering after `latency` seconds, as an identity provider across a network does;
    it counts the PATCHes that disable a user, per user and per caller (the bearer token)."""

    def __init__(self) -> None:
        self.app = ASGIApplication(AsyncInMemoryStorage(), load_default_provider())
        self.latency = 0.0
        self.disables: Counter[str] = Counter()
        self.by_token: defaultdict[str, Counter[str]] = defaultdict(Counter)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "PATCH" and "/Users/" in scope["path"]:
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            ops = json.loads(body or b"{}").get("Operations", [])
            if any(o.get("path") == "active" and o.get("value") is False for o in ops):
                uid = scope["path"].rstrip("/").rsplit("/", 1)[1]
                token = dict(scope["headers"]).get(b"authorization", b"").decode().removeprefix("Bearer ")
                self.disables[uid] += 1
                self.by_token[token][uid] += 1

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
        if self.latency:
            await asyncio.sleep(self.latency)
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def slow_scim() -> Iterator[tuple[SlowScim, str]]:
    app = SlowScim()
    server = ThreadServer(app).start()
    yield app, server.url + "/v2"
    server.stop()


async def _revoking(
    staff: Api, db: asyncpg.Pool, granter: Reconciler, members: int
) -> tuple[list[uuid.UUID], dict[uuid.UUID, str]]:
    """A lease with `members` seated members whose directory accounts were granted, then ended:
    its credentials are due for their revocation. Returns their ids and their SCIM user ids."""
    w = await make_world(staff)
    for i in range(3, members):
        w.members.append(
            await staff.post(
                f"/v1/teams/{w.team['id']}/members",
                {"name": f"Agent {i}", "email": f"agent{i}-{uniq().lower()}@client-example.com", "employee_id": f"E{i:04d}"},
            )
        )
    lease = await seated_lease(staff, w, seats=members)
    lease_id = uuid.UUID(lease["id"])

    async def granted() -> bool:
        rows = await db.fetch("SELECT state FROM credentials WHERE lease_id = $1 AND kind = 'directory'", lease_id)
        return len(rows) == members and all(r["state"] == "active" for r in rows)

    await until(granter, granted, timeout=60)
    yesterday = (site_today() - timedelta(days=1)).isoformat()
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": yesterday}, expect=200)
    await granter.derive()  # the revocations are due now; the workers under test do them
    rows = await db.fetch(
        "SELECT id, external_id FROM credentials WHERE lease_id = $1 AND kind = 'directory' AND NOT desired "
        "AND disabled_at IS NULL",
        lease_id,
    )
    assert len(rows) == members
    return [r["id"] for r in rows], {r["id"]: r["external_id"] for r in rows}


async def _disabled_once(db: asyncpg.Pool, ids: list[uuid.UUID], url: str) -> None:
    """Every credential is disabled in our rows, by one recorded event, and in the target."""
    rows = await db.fetch("SELECT state, disabled_at, external_id FROM credentials WHERE id = ANY($1)", ids)
    assert all(r["state"] == "revoking" and r["disabled_at"] is not None for r in rows)
    events = await db.fetch(
        "SELECT object_id, count(*) AS n FROM audit_events WHERE action = 'credential.disabled' "
        "AND object_id = ANY($1::text[]) GROUP BY object_id",
        [str(i) for i in ids],
    )
    assert sorted(e["n"] for e in events) == [1] * len(ids)
    async with httpx.AsyncClient() as c:
        for r in rows:
            assert (await c.get(f"{url}/Users/{r['external_id']}")).json()["active"] is False


async def test_two_workers_split_the_revocations_and_make_each_once(
    staff: Api, db: asyncpg.Pool, slow_scim: tuple[SlowScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    server, url = slow_scim
    only_scim = {"scim_base_url": url, "badge_webhook_url": None, "radius_database_url": None}
    server.latency = 0.0
    ids, users = await _revoking(staff, db, reconcilers(**only_scim), members=16)
    # two workers at once against an identity provider that answers after 100 ms, each claiming
    # batches of 4 with 2 calls in flight
    server.latency = 0.1
    workers = [
        reconcilers(**only_scim, scim_token=name, batch_size=4, concurrency=2, parallel_batches=1) for name in ("w1", "w2")
    ]
    await asyncio.gather(*(w.drain() for w in workers))
    await _disabled_once(db, ids, url)
    mine = set(users.values())
    assert all(server.disables[u] == 1 for u in mine), "each account disabled exactly once at the target"
    done = {name: sum(n for u, n in server.by_token[name].items() if u in mine) for name in ("w1", "w2")}
    assert sum(done.values()) == len(mine)
    assert all(n > 0 for n in done.values()), f"both workers did part of the work: {done}"


@pytest.mark.parametrize("how", ["killed", "frozen"])
async def test_a_dead_workers_claimed_batch_is_completed_by_the_other(
    how: str,
    staff: Api,
    db: asyncpg.Pool,
    database_url: str,
    slow_scim: tuple[SlowScim, str],
    reconcilers: Callable[..., Reconciler],
) -> None:
    """A worker process claims the whole batch and makes its calls one by one (each answered after
    half a second); it is killed (its connection closes) or frozen (SIGSTOP: its connection stays
    open and silent, as with a hung host) half-way. The other worker cannot take the rows while
    the claim stands, and completes the batch once it is gone: at once for a killed worker, after
    the claim expiry (4 s) for a frozen one. Each revocation is recorded once: the dead worker never
    wrote back."""
    server, url = slow_scim
    only_scim = {"scim_base_url": url, "badge_webhook_url": None, "radius_database_url": None}
    server.latency = 0.0
    ids, users = await _revoking(staff, db, reconcilers(**only_scim), members=8)
    mine = set(users.values())
    server.latency = 0.5
    token = f"dead-{how}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.provisioning.claim_worker", database_url, url, token, "4"),
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not any(u in mine for u in server.by_token[token]):
            assert proc.returncode is None, "the worker process ended before it claimed the batch"
            assert time.monotonic() < deadline, "the worker process never started on the batch"
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        gone_at = time.monotonic()
        server.latency = 0.05
        other = reconcilers(**only_scim, scim_token="other")
        if how == "frozen":
            await other.drain()
            assert not any(u in mine for u in server.by_token["other"]), "the frozen worker's claim still stands"
        while True:
            await other.drain()
            left = await db.fetchval("SELECT count(*) FROM credentials WHERE id = ANY($1) AND disabled_at IS NULL", ids)
            if left == 0:
                break
            assert time.monotonic() - gone_at < 30, f"{left} revocations of the dead worker's batch never completed"
            await asyncio.sleep(0.1)
        took = time.monotonic() - gone_at
        if how == "frozen":
            # its last renewal came at most a third of the expiry before it froze
            assert took >= 2.5, "taken over only once the claim expired"
        # the other worker redid the whole batch: the dead one never recorded any of it
        assert {u for u in server.by_token["other"] if u in mine} == mine
        await _disabled_once(db, ids, url)
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), timeout=10)


def test_the_claim_expiry_is_a_setting() -> None:
    key = "k" * 40
    assert Settings(SEATLEASE_SECRET_KEY=key).provisioning().claim_expiry_seconds == 60.0
    assert Settings(SEATLEASE_SECRET_KEY=key, SEATLEASE_PROV_CLAIM_EXPIRY="7.5").provisioning().claim_expiry_seconds == 7.5
