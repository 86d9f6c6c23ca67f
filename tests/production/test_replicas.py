"""Issue 10's production shape, proven with real processes: Debian's PostgreSQL with TLS and a
non-superuser owner, `seatlease migrate`, two API processes and two worker processes (see conftest).
The scenarios run in order on one deployment."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil
import pytest

from tests.factories import Api, World, lease_body, make_world, uniq
from tests.production.conftest import Cluster, Proc, SlowScim

pytestmark = pytest.mark.asyncio(loop_scope="session")

# every pair of live seat holdings of one seat whose dates and minutes overlap: there must be none
OVERLAPS = """
SELECT a.seat_id, la.lease_id AS a_lease, lb.lease_id AS b_lease
FROM lease_seat_segments a
JOIN lease_seat_segments b
  ON b.seat_id = a.seat_id AND b.lease_seat_id <> a.lease_seat_id
 AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
 AND int4range(a.win_lo, a.win_hi) && int4range(b.win_lo, b.win_hi)
JOIN lease_seats la ON la.id = a.lease_seat_id AND NOT la.voided
JOIN lease_seats lb ON lb.id = b.lease_seat_id AND NOT lb.voided
JOIN leases a_l ON a_l.id = la.lease_id AND a_l.status IN ('pending_approval', 'confirmed', 'active')
JOIN leases b_l ON b_l.id = lb.lease_id AND b_l.status IN ('pending_approval', 'confirmed', 'active')
WHERE a.site_id = $1
"""


@pytest.fixture(scope="module")
async def apis(cluster: Cluster) -> AsyncIterator[list[Api]]:
    """A staff caller of each API process (one token: both processes share the key)."""
    clients = [httpx.AsyncClient(base_url=p.base, timeout=60) for p in cluster.apis]
    yield [Api(c, cluster.token) for c in clients]
    for c in clients:
        await c.aclose()


async def test_migrated_by_a_non_superuser_owner_over_tls(cluster: Cluster, owner_db: asyncpg.Pool) -> None:
    row = await owner_db.fetchrow(
        "SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super, "
        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl, "
        "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS owner"
    )
    assert row["who"] == row["owner"] == "seatlease_owner"
    assert row["super"] is False
    assert await owner_db.fetchval("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'") == "btree_gist"
    # every connection of every process is the owner's, over TLS (pg_hba refuses any other)
    sessions = await owner_db.fetch(
        "SELECT a.usename, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
        "WHERE a.datname = current_database() AND a.backend_type = 'client backend'"
    )
    assert {(r["usename"], r["ssl"]) for r in sessions} == {("seatlease_owner", True)}


async def test_concurrent_bookings_across_both_apis_never_overlap(apis: list[Api], owner_db: asyncpg.Pool) -> None:
    w = await make_world(apis[0], seats_per_zone=6)  # 12 seats: 40 bookings must contend
    rnd = random.Random(10)
    first = date(2031, 1, 1)
    bodies = []
    for _ in range(40):
        start = first + timedelta(days=rnd.randrange(0, 20))
        end = None if rnd.random() < 0.3 else start + timedelta(days=rnd.randrange(0, 40))
        bodies.append(
            lease_body(
                w,
                shift=rnd.choice(["DAY", "NIGHT", "FULL"]),
                start_date=start.isoformat(),
                end_date=end.isoformat() if end else None,
                seat_count=rnd.randrange(1, 4),
            )
        )
    answers = await asyncio.gather(*(apis[i % 2].call("POST", "/v1/leases", json=b) for i, b in enumerate(bodies)))
    assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers if r.status_code not in (201, 409)]
    booked = [r.json() for r in answers if r.status_code == 201]
    assert booked, "no booking succeeded"
    assert len(booked) < len(bodies), "no booking contended: the test proves nothing"
    for i, lease in enumerate(booked):
        # a real lease, read back through the other process, holding the seats it answered with
        again = await apis[(i + 1) % 2].get(f"/v1/leases/{lease['id']}")
        assert again["status"] in ("confirmed", "active", "pending_approval")
        assert sorted(s["id"] for s in again["seats"]) == sorted(s["id"] for s in lease["seats"])
        held = await owner_db.fetch("SELECT seat_id FROM lease_seats WHERE lease_id = $1 AND NOT voided", uuid.UUID(lease["id"]))
        assert sorted(str(r["seat_id"]) for r in held) == sorted(s["id"] for s in lease["seats"])
    assert await owner_db.fetch(OVERLAPS, uuid.UUID(w.site["id"])) == []
    leases = await owner_db.fetchval("SELECT count(*) FROM leases WHERE site_id = $1", uuid.UUID(w.site["id"]))
    assert leases == len(booked)


def _pairs(lease: dict[str, Any], members: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"seat_id": s["id"], "member_id": m["id"]} for s, m in zip(lease["seats"], members, strict=True)]


async def _claimed_by(cluster: Cluster, owner_db: asyncpg.Pool) -> list[Proc]:
    """The worker processes whose transaction holds claimed credential rows right now (locked FOR
    UPDATE while the targets are called; the table's RowShareLock shows it): by the connection's port."""
    ports = {
        r["client_port"]
        for r in await owner_db.fetch(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.relation = 'credentials'::regclass AND l.mode = 'RowShareLock' AND l.granted"
        )
    }
    holders = []
    for w in cluster.workers:
        if w.popen.poll() is None:
            local = {c.laddr.port for c in psutil.Process(w.popen.pid).net_connections(kind="tcp") if c.laddr}
            if local & ports:
                holders.append(w)
    return holders


async def _seated_leases(apis: list[Api], w: World, leases: int, seats: int) -> list[dict[str, Any]]:
    """`leases` active leases (started ten days ago) of `seats` seats, a member at every seat."""
    members = list(w.members)
    while len(members) < leases * seats:
        members.append(
            await apis[0].post(
                f"/v1/teams/{w.team['id']}/members",
                {"name": f"Agent {len(members)}", "email": f"a{len(members)}-{uniq().lower()}@client-example.com"},
            )
        )
    start = (datetime.now(ZoneInfo(w.site["timezone"])).date() - timedelta(days=10)).isoformat()
    body = lease_body(w, shift="FULL", start_date=start, seat_count=seats)
    made = [await apis[i % 2].post("/v1/leases", body) for i in range(leases)]
    assert {x["status"] for x in made} == {"active"}
    # all at once, through both APIs: the workers get the whole load together
    await asyncio.gather(
        *(
            apis[i % 2].call("PUT", f"/v1/leases/{x['id']}/assignments", 200, json=_pairs(x, members[i * seats :][:seats]))
            for i, x in enumerate(made)
        )
    )
    return made


async def _all_active(owner_db: asyncpg.Pool, lease_ids: list[uuid.UUID], expected: int, seconds: float) -> list[asyncpg.Record]:
    deadline = time.monotonic() + seconds
    while True:
        rows = await owner_db.fetch(
            "SELECT id, state, external_id FROM credentials WHERE lease_id = ANY($1::uuid[]) AND kind = 'directory'", lease_ids
        )
        if len(rows) == expected and all(r["state"] == "active" for r in rows):
            return rows
        assert time.monotonic() < deadline, f"not provisioned: {sorted(r['state'] for r in rows)}"
        await asyncio.sleep(0.2)


async def test_provisioning_survives_a_worker_killed_half_way(
    cluster: Cluster, apis: list[Api], owner_db: asyncpg.Pool, scim: tuple[SlowScim, str]
) -> None:
    directory, scim_url = scim
    w = await make_world(apis[1], seats_per_zone=12)
    leases = await _seated_leases(apis, w, leases=8, seats=3)
    lease_ids = [uuid.UUID(x["id"]) for x in leases]

    # SIGKILL a worker while it holds claimed rows and some accounts already exist
    deadline = time.monotonic() + 30
    while True:
        holders = await _claimed_by(cluster, owner_db)
        if holders and sum(directory.creates.values()) >= 2:
            break
        assert time.monotonic() < deadline, "no worker was ever caught with claimed rows"
        await asyncio.sleep(0.02)
    victim = holders[0]
    victim.popen.send_signal(signal.SIGKILL)
    victim.popen.wait(timeout=10)
    done_before = await owner_db.fetchval(
        "SELECT count(*) FROM credentials WHERE lease_id = ANY($1::uuid[]) AND state = 'active'", lease_ids
    )
    assert done_before < 24, "the work was over before the kill"

    rows = await _all_active(owner_db, lease_ids, expected=24, seconds=60)
    # each credential is one account at the target, created once, active, and the one it points at
    async with httpx.AsyncClient(timeout=30) as c:
        for r in rows:
            found = (await c.get(f"{scim_url}/Users", params={"filter": f'externalId eq "{r["id"]}"'})).json()["Resources"]
            assert len(found) == 1, "exactly one account per credential"
            assert found[0]["id"] == r["external_id"]
            assert found[0]["active"] is True
            assert directory.creates[str(r["id"])] == 1, "created once"
    granted = await owner_db.fetch(
        "SELECT object_id, count(*) AS n FROM audit_events WHERE action = 'credential.granted' "
        "AND object_id = ANY($1::text[]) GROUP BY object_id",
        [str(r["id"]) for r in rows],
    )
    assert sorted(g["n"] for g in granted) == [1] * 24


async def test_one_billing_run_asked_through_both_apis_and_the_cli(
    cluster: Cluster, apis: list[Api], owner_db: asyncpg.Pool
) -> None:
    w = await make_world(apis[0], seats_per_zone=5)
    for i in range(8):
        about = {"legal_name": f"Billed {uniq()} Inc.", "billing_email": "ap@client-example.com", "payment_terms_days": 30}
        c = await apis[i % 2].post("/v1/clients", about)
        t = await apis[i % 2].post(f"/v1/clients/{c['id']}/teams", {"name": "Team"})
        body = {"client_id": c["id"], "team_id": t["id"], "site_id": w.site["id"], "plan_id": w.plan["id"]}
        await apis[i % 2].post("/v1/leases", {**body, "shift": "FULL", "start_date": "2031-02-01", "seat_count": 1})
    period = "2031-02"

    cli = asyncio.create_task(asyncio.to_thread(cluster.run, "billing", "run", "--period", period))
    asked = await asyncio.gather(*(api.call("POST", "/v1/billing/runs", json={"period": period}) for api in apis))
    assert [r.status_code for r in asked] == [202, 202], [r.text for r in asked]
    done = await cli
    assert done.returncode == 0, done.stdout + done.stderr

    deadline = time.monotonic() + 90
    for r in asked:
        run_id = r.json()["id"]
        while (run := await apis[0].get(f"/v1/billing/runs/{run_id}"))["status"] != "done":
            assert run["status"] in ("queued", "running"), run
            assert time.monotonic() < deadline, run
            await asyncio.sleep(0.3)

    invoices = await owner_db.fetch("SELECT client_id, site_id, number FROM invoices WHERE period = $1", period)
    billed = await owner_db.fetch(
        "SELECT DISTINCT client_id, site_id FROM leases WHERE status IN ('confirmed', 'active') AND start_date <= '2031-02-28'"
    )
    # one invoice per client and site, every client with seats that month billed
    assert sorted((r["client_id"], r["site_id"]) for r in invoices) == sorted((r["client_id"], r["site_id"]) for r in billed)
    assert len(billed) >= 10
    for site in {r["site_id"] for r in invoices}:
        numbers = sorted(r["number"] for r in invoices if r["site_id"] == site)
        assert numbers == list(range(1, len(numbers) + 1)), numbers  # gapless
    runs = await owner_db.fetch("SELECT status FROM billing_runs WHERE period = $1", period)
    assert {r["status"] for r in runs} == {"done"}


async def _reconcilers_idle(cluster: Cluster, owner_db: asyncpg.Pool) -> None:
    """Every worker's reconciler has completed a pass (and now waits: its sweep is an hour apart)."""
    deadline = time.monotonic() + 60
    for w in cluster.workers:
        while not await owner_db.fetchval(
            "SELECT count(*) FROM worker_liveness WHERE role = 'reconciler' AND id LIKE $1 AND passes > 0",
            f"%:{w.popen.pid}:%",
        ):
            assert w.popen.poll() is None, w.tail()
            assert time.monotonic() < deadline, f"{w.name}'s reconciler never completed a pass: {w.tail()}"
            await asyncio.sleep(0.2)
    await asyncio.sleep(1)


async def test_a_database_restart_under_load(cluster: Cluster, apis: list[Api], owner_db: asyncpg.Pool) -> None:
    cluster.ensure_workers()  # the previous test killed one
    w = await make_world(apis[0], seats_per_zone=3)
    await _reconcilers_idle(cluster, owner_db)
    pids = [p.popen.pid for p in cluster.apis + cluster.workers]

    seen: list[tuple[int, float, httpx.Response]] = []
    stop = asyncio.Event()

    async def load(i: int) -> None:
        while not stop.is_set():
            seen.append((i, time.monotonic(), await apis[i].call("GET", "/v1/sites")))
            await asyncio.sleep(0.05)

    async def until_each_api(status: int, since: float, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while {i for i, t, r in seen if t > since and r.status_code == status} != {0, 1}:
            last = [(i, r.status_code) for i, _, r in seen[-6:]]
            assert time.monotonic() < deadline, f"not every API answered {status}: {last}"
            await asyncio.sleep(0.05)

    load_tasks = [asyncio.create_task(load(i)) for i in (0, 1) for _ in range(3)]
    try:
        await until_each_api(200, time.monotonic(), 30)
        await asyncio.to_thread(cluster.server.stop, "fast")
        down_at = time.monotonic()
        await until_each_api(503, down_at, 30)
        health = [await api.http.get("/healthz") for api in apis]
        assert [h.status_code for h in health] == [503, 503]
        await asyncio.to_thread(cluster.server.start)
        up_at = time.monotonic()
        await until_each_api(200, up_at, 30)
    finally:
        stop.set()
        await asyncio.gather(*load_tasks)

    # while down: 503 problem+json with Retry-After, never another error; the same processes recovered
    assert {r.status_code for _, _, r in seen} == {200, 503}
    for _, _, r in seen:
        if r.status_code == 503:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
            assert int(r.headers["retry-after"]) > 0
            assert r.json()["status"] == 503
    assert [p.popen.pid for p in cluster.apis + cluster.workers] == pids
    assert all(p.popen.poll() is None for p in cluster.apis + cluster.workers)

    # a lease change right after the restart, while the workers' LISTEN connections were gone
    # with the old server: its NOTIFY reaches no one, so only a pass after reconnecting (the
    # reconciler's sweep is an hour apart) provisions it
    leases = await _seated_leases(apis, w, leases=1, seats=3)
    await _all_active(owner_db, [uuid.UUID(leases[0]["id"])], expected=3, seconds=30)


async def test_three_api_replicas_and_two_workers_at_full_pools_fit_the_compose_postgres(
    cluster: Cluster, owner_db: asyncpg.Pool
) -> None:
    """The compose file's PostgreSQL (``max_connections=200``, as this server) holds three API
    replicas and two workers with the default pools (the README's formula: 3 x (20 + 20) +
    2 x (5 + 5 + 1) + 10 = 152): a burst opens every API pool to its limit at once, and no
    request is refused for want of a connection slot. Last in the module: it replaces the two
    API processes (their pools are the tests' smaller ones) with three at the defaults."""
    for p in cluster.apis:
        p.popen.send_signal(signal.SIGTERM)
        p.popen.wait(timeout=20)
    cluster.ensure_workers()
    defaults = {k: v for k, v in cluster.env.items() if k not in ("SEATLEASE_DB_POOL_SIZE", "SEATLEASE_DB_MAX_OVERFLOW")}
    replicas = Cluster(cluster.server, defaults)
    try:
        replicas.apis = [replicas.start_api(10 + i) for i in range(3)]
        peak = 0
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                n = await owner_db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'api'")
                peak = max(peak, int(n))
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        statuses: dict[int, int] = {}
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        clients = [httpx.AsyncClient(base_url=p.base, timeout=60, limits=limits) for p in replicas.apis]
        try:
            headers = {"Authorization": f"Bearer {cluster.token}"}
            for _ in range(3):  # bursts: each API gets more requests at once than its pool has connections
                answers = await asyncio.gather(
                    *(c.get("/v1/reports/occupancy", headers=headers) for c in clients for _ in range(80))
                )
                for r in answers:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        finally:
            stop.set()
            await sampler
            for c in clients:
                await c.aclose()
        assert statuses == {200: 720}, statuses
        # the pools really opened at once past what any one replica may hold (40): the sampler sees
        # the burst in 20-ms steps, so it catches most of the peak but not all of it (it saw 60-110)
        assert peak > 40, peak
        logs = "".join(p.tail() for p in replicas.apis + cluster.workers)
        assert "too many clients" not in logs
        assert "remaining connection slots" not in logs
    finally:
        replicas.stop()
