"""Leasing core benchmark: availability search latency and booking throughput.

    .venv/bin/python bench/bench_leasing.py            # demo scale: ~21,600 seats, >= 100,000 past leases
    .venv/bin/python bench/bench_leasing.py --help     # sizes, request counts, --reuse

It builds a scratch database on the embedded PostgreSQL (bulk INSERT ... SELECT from
generate_series, not the API), starts the real app under uvicorn in a child process on a
loopback port, and prints:

* availability search (GET /v1/sites/{id}/availability) p50/p99 through the API, beside the
  same queries run directly in SQL with asyncpg (ratio API / SQL);
* booking throughput (POST /v1/leases with seat_count) under N concurrent clients, beside a
  bare FastAPI + asyncpg endpoint that takes the same request body and inserts the lease row (one
  INSERT ... SELECT that finds the shift, with the leases table's foreign keys and indexes; no
  auth, no seats, no audit), served the same way by uvicorn on this machine in the same run
  (ratio). ``--rounds N`` measures both N times, alternating, and reports the median ratio. The
  load comes from a lean HTTP/1.1 client (``--client httpx`` for the old one, whose own CPU per
  request, ~2.6 ms, exceeded the bare server's and capped the baseline); each run prints the CPU
  per request of the server process and of the load generator, so what bounds it is visible.

Aims (issue 10): availability p99 through the API within 1.5x the same SQL; booking throughput
>= 0.6x the bare insert. Each is printed as one ``RESULT {json}`` line (the bench protocol).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asyncpg
import httpx
from bare_booking import BARE_BOOKING_MARKER
from common import (
    DEFAULT_DATA_DIR,
    Compiled,
    child_server,
    database_exists,
    free_port,
    plain_url,
    recreate_database,
    server_url,
    summary_ms,
)
from pydantic import BaseModel
from sqlalchemy import bindparam
from sqlalchemy.types import Date, Integer

from domain.leasing.availability import free_seats_page_stmt
from domain.models import Seat
from service.auth import hash_secret
from service.embedded import with_database
from service.migrate import upgrade

STAFF_EMAIL = "bench-staff@seatlease-example.com"
STAFF_PASSWORD = "bench staff password"
WINDOWS = {"FULL": (0, 0), "DAY": (360, 900), "NIGHT": (1260, 360)}
AVAILABILITY_RATIO_AIM = 1.5
BOOKING_RATIO_AIM = 0.6
# created_by of the bare baseline's lease rows, so that they are deleted after its run
BARE_MARKER = uuid.UUID("00000000-0000-4000-8000-0000000ba5e0")


# ---- the demo-scale database ------------------------------------------------------------

BUILD_SQL = [
    # sites, shifts (FULL, DAY, NIGHT crossing midnight), floors, zones of seats on a grid
    """INSERT INTO sites (code, name, address, timezone, currency, tax_rate)
       SELECT 'BENCH' || s, 'Bench site ' || s, 'Bench street ' || s, 'Asia/Manila', 'PHP', 0.12
       FROM generate_series(1, {sites}) s""",
    """INSERT INTO shifts (site_id, code, name, starts_at, ends_at)
       SELECT s.id, w.code, w.name, w.starts, w.ends FROM sites s CROSS JOIN (VALUES
         ('FULL', 'Full day', time '00:00', time '00:00'),
         ('DAY', 'Day', time '06:00', time '15:00'),
         ('NIGHT', 'Night', time '21:00', time '06:00')) w(code, name, starts, ends)""",
    """INSERT INTO floors (site_id, name, level)
       SELECT s.id, f || 'F', f FROM sites s, generate_series(1, {floors}) f""",
    """INSERT INTO seats (site_id, floor_id, zone, label, x, y, status)
       SELECT fl.site_id, fl.id, chr(64 + z), fl.level || 'F-' || chr(64 + z) || '-' || lpad(i::text, 4, '0'),
              (i - 1) % 20, (i - 1) / 20,
              CASE WHEN (i * 7 + z * 3 + fl.level) % 97 = 0 THEN 'maintenance'
                   WHEN (i * 11 + z * 5 + fl.level) % 211 = 0 THEN 'retired' ELSE 'active' END
       FROM floors fl, generate_series(1, {zones}) z, generate_series(1, {seats_per_zone}) i""",
    """INSERT INTO plans (site_id, name, monthly_price_minor, setup_fee_minor, deposit_months)
       SELECT id, 'Standard seat', 1500000, 250000, 1 FROM sites""",
    """INSERT INTO inclusions (plan_id, code, name, kind, billing, unit_price_minor, device_kind, quantity_per_seat)
       SELECT p.id, i.code, i.name, i.kind, i.billing, i.price, i.device_kind, 1 FROM plans p CROSS JOIN (VALUES
         ('power', 'Power with UPS', 'power', 'included', 0, NULL),
         ('internet', 'Shared internet', 'internet', 'included', 0, NULL),
         ('pc', 'Desktop PC', 'device', 'included', 0, 'pc'),
         ('extra_monitor', 'Extra monitor', 'device', 'monthly', 50000, 'monitor'))
         i(code, name, kind, billing, price, device_kind)""",
    """INSERT INTO clients (legal_name, billing_email, tax_id, payment_terms_days)
       SELECT 'Bench client ' || c || ' Inc.', 'ap' || c || '@client-example.com', '000-' || c, 30
       FROM generate_series(1, {clients}) c""",
    """INSERT INTO teams (client_id, name) SELECT id, 'Agents' FROM clients""",
    # a client (and its team) by number, and seats in blocks of 4 neighbours
    """CREATE TEMP TABLE bclient AS
       SELECT row_number() OVER (ORDER BY c.id) - 1 AS n, c.id AS client_id, t.id AS team_id
       FROM clients c JOIN teams t ON t.client_id = c.id""",
    """CREATE TEMP TABLE bseat AS
       SELECT s.id, s.site_id, s.status,
              dense_rank() OVER (ORDER BY s.floor_id, s.zone, (s.y * 20 + s.x) / 4) AS block,
              (s.y * 20 + s.x) % 4 AS pos
       FROM seats s""",
    """CREATE TEMP TABLE bblock AS SELECT DISTINCT block, site_id FROM bseat""",
    # historical leases: per block and time slot one FULL lease, or a DAY and a NIGHT lease
    # side by side (they coexist on a seat); 1 in 20 cancelled (its seats voided)
    """CREATE TEMP TABLE hist AS
       SELECT gen_random_uuid() AS id, b.block, b.site_id, w.code AS shift_code,
              1 + (b.block * 7 + k * 3 + length(w.code)) % 4 AS nseats,
              d.start_date, d.start_date + 60 + (b.block % 30)::int AS end_date,
              CASE WHEN (b.block * 13 + k) % 20 = 0 THEN 'cancelled' ELSE 'ended' END AS status
       FROM bblock b
       CROSS JOIN generate_series(0, {slots} - 1) k
       CROSS JOIN LATERAL (SELECT current_date - ({slots} * 120 + 60) + k * 120 + (b.block % 20)::int AS start_date) d
       JOIN (VALUES ('FULL'), ('DAY'), ('NIGHT')) w(code)
         ON (w.code = 'FULL') = ((b.block + k) % 3 = 0)""",
    # live leases today: 3 blocks in 5 are held (FULL, DAY or NIGHT), 1 in 5 is booked later
    """CREATE TEMP TABLE live AS
       SELECT gen_random_uuid() AS id, b.block, b.site_id,
              (ARRAY['FULL', 'DAY', 'NIGHT'])[1 + b.block % 3] AS shift_code,
              2 + b.block % 3 AS nseats,
              current_date - (b.block % 60)::int AS start_date,
              CASE WHEN b.block % 2 = 0 THEN NULL ELSE current_date + 90 + (b.block % 400)::int END AS end_date,
              'active' AS status
       FROM bblock b WHERE b.block % 5 < 3
       UNION ALL
       SELECT gen_random_uuid(), b.block, b.site_id, 'DAY', 4,
              current_date + 30 + (b.block % 200)::int, current_date + 210 + (b.block % 200)::int, 'confirmed'
       FROM bblock b WHERE b.block % 5 = 3""",
    """INSERT INTO leases (id, client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date,
                           status, activated_at, ended_at, cancelled_at, created_at)
       SELECT h.id, c.client_id, c.team_id, h.site_id, p.id, sh.id, h.shift_code, h.start_date, h.end_date, h.status,
              CASE WHEN h.status IN ('active', 'ended') THEN h.start_date::timestamptz END,
              CASE WHEN h.status = 'ended' THEN (h.end_date + 1)::timestamptz END,
              CASE WHEN h.status = 'cancelled' THEN (h.start_date - 7)::timestamptz END,
              (h.start_date - 14)::timestamptz
       FROM (SELECT * FROM hist UNION ALL SELECT * FROM live) h
       JOIN bclient c ON c.n = h.block % {clients}
       JOIN plans p ON p.site_id = h.site_id
       JOIN shifts sh ON sh.site_id = h.site_id AND sh.code = h.shift_code""",
    """INSERT INTO lease_seats (lease_id, seat_id, start_date, end_date, window_start_min, window_end_min, voided,
                                created_at)
       SELECT h.id, s.id, h.start_date, h.end_date, w.ws, w.we, h.status = 'cancelled', (h.start_date - 14)::timestamptz
       FROM (SELECT * FROM hist UNION ALL SELECT * FROM live) h
       JOIN bseat s ON s.block = h.block AND s.pos < h.nseats AND (h.status IN ('ended', 'cancelled') OR s.status = 'active')
       JOIN (VALUES ('FULL', 0, 0), ('DAY', 360, 900), ('NIGHT', 1260, 360)) w(code, ws, we) ON w.code = h.shift_code""",
    """INSERT INTO lease_add_ons (lease_id, inclusion_id, quantity)
       SELECT l.id, i.id, 1 FROM leases l JOIN inclusions i ON i.plan_id = l.plan_id AND i.code = 'extra_monitor'
       WHERE hashtext(l.id::text) % 4 = 0""",
    # (the bare baseline writes lease rows; older runs wrote to a table of their own)
    "DROP TABLE IF EXISTS bench_bare_rows",
]


async def build_database(url: str, args: argparse.Namespace) -> dict[str, int]:
    blocks = args.sites * args.floors * args.zones * -(-args.seats_per_zone // 4)
    # a block and slot hold 1 (FULL) or 2 (DAY + NIGHT) leases: 5/3 on average
    slots = max(1, -(-args.leases * 3 // (blocks * 5)))
    params = {
        "sites": args.sites,
        "floors": args.floors,
        "zones": args.zones,
        "seats_per_zone": args.seats_per_zone,
        "clients": args.clients,
        "slots": slots,
    }
    conn = await asyncpg.connect(plain_url(url))
    try:
        async with conn.transaction():
            for sql in BUILD_SQL:
                await conn.execute(sql.format(**params))
            await conn.execute(
                "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'facility_staff')",
                STAFF_EMAIL,
                hash_secret(STAFF_PASSWORD),
            )
        await conn.execute("VACUUM ANALYZE")
        counts = {}
        for table in ("seats", "leases", "lease_seats"):
            counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        counts["past_leases"] = int(await conn.fetchval("SELECT count(*) FROM leases WHERE status IN ('ended', 'cancelled')"))
        return counts
    finally:
        await conn.close()


# ---- the servers under test (run in a child process) ------------------------------------


class BareBody(BaseModel):
    """The booking's request body."""

    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: str
    start_date: date
    end_date: date | None = None
    seat_count: int


BARE_INSERT = """INSERT INTO leases (client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date,
                                     status, created_by)
   SELECT $1, $2, $3, $4, sh.id, sh.code, $6, $7, 'confirmed', $8 FROM shifts sh WHERE sh.site_id = $3 AND sh.code = $5
   RETURNING id, created_at"""


def bare_app(url: str) -> Any:
    """The baseline: FastAPI + an asyncpg pool, the booking's body in, one INSERT of the lease row
    per request (foreign keys and indexes of the real table), no auth, no ORM."""
    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the same connection ceiling as the app's engine (pool_size 20 + max_overflow 20)
        app.state.pool = await asyncpg.create_pool(plain_url(url), min_size=20, max_size=40)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/leases", status_code=201)
    async def insert_row(body: BareBody) -> dict[str, Any]:
        b = body
        row = await app.state.pool.fetchrow(
            BARE_INSERT, b.client_id, b.team_id, b.site_id, b.plan_id, b.shift, b.start_date, b.end_date, BARE_MARKER
        )
        return {"id": str(row["id"]), "created_at": row["created_at"].isoformat()}

    return app


def serve(kind: str, url: str, port: int) -> None:
    import uvicorn

    if kind == "app":
        from service.app import create_app

        app = create_app(database_url=url)
    elif kind == "bare-booking":
        import bare_booking

        app = bare_booking.app(url)
    else:
        app = bare_app(url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def server_args(kind: str, url: str, port: int) -> list[str]:
    return [str(Path(__file__).resolve()), "--serve", kind, "--url", url, "--port", str(port)]


# ---- availability -----------------------------------------------------------------------


def availability_statements() -> dict[tuple[str, bool], Compiled]:
    """The route's query (free_seats_page_stmt: the first page of free seats with the free count),
    built by the same service function, with named binds site/start/end/lim, for each shift
    window and for a search with an end date or an open-ended one."""
    site = bindparam("site", type_=Seat.id.type)
    start, end = bindparam("start", type_=Date()), bindparam("end", type_=Date())
    lim = bindparam("lim", type_=Integer())
    return {
        (shift, bounded): Compiled(free_seats_page_stmt(site, window, start, end if bounded else None, lim))
        for shift, window in WINDOWS.items()
        for bounded in (True, False)
    }


def _values(p: dict[str, Any]) -> dict[str, Any]:
    return {"site": p["site"], "start": p["start"], "end": p["end"], "lim": p["seats"]}


def availability_params(rng: random.Random, sites: list[uuid.UUID], n: int) -> list[dict[str, Any]]:
    today = date.today()
    out = []
    for _ in range(n):
        start = today + timedelta(days=rng.randint(0, 90))
        end = None if rng.random() < 0.2 else start + timedelta(days=rng.choice((30, 90, 180, 365)))
        out.append(
            {"site": rng.choice(sites), "shift": rng.choice(("FULL", "DAY", "NIGHT")), "start": start, "end": end, "seats": 50}
        )
    return out


async def bench_availability(base: str, token: str, url: str, args: argparse.Namespace, sites: list[uuid.UUID]) -> dict[str, Any]:
    rng = random.Random(7)
    params = availability_params(rng, sites, args.availability_requests)
    warm = availability_params(rng, sites, 20)
    headers = {"Authorization": f"Bearer {token}"}

    statements = availability_statements()
    conn = await asyncpg.connect(plain_url(url))
    host, port = base.removeprefix("http://").rsplit(":", 1)
    lean = _Http1(host, int(port), headers)
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:

            async def api(p: dict[str, Any]) -> int:
                q = {"shift": p["shift"], "start": p["start"].isoformat(), "seats": p["seats"]}
                if p["end"] is not None:
                    q["end"] = p["end"].isoformat()
                path = f"/v1/sites/{p['site']}/availability"
                if args.client == "httpx":
                    r = await http.get(path, params=q)
                    status, body = r.status_code, r.content
                else:
                    status, body = await lean.get(f"{path}?{urlencode(q)}")
                assert status == 200, body
                return int(json.loads(body)["free_count"])

            async def direct(p: dict[str, Any]) -> int:
                q = statements[p["shift"], p["end"] is not None]
                async with conn.transaction():  # the route runs in one transaction too
                    rows = await conn.fetch(q.sql, *q.args(_values(p)))
                return int(rows[0]["free_count"]) if rows else 0

            for p in warm:
                await api(p)
                await direct(p)
            # the same searches one after the other, API then SQL, so both see the same machine
            api_times, api_counts, sql_times, sql_counts = [], [], [], []
            for p in params:
                t0 = time.perf_counter()
                api_counts.append(await api(p))
                t1 = time.perf_counter()
                sql_counts.append(await direct(p))
                t2 = time.perf_counter()
                api_times.append(t1 - t0)
                sql_times.append(t2 - t1)
        q = statements[params[0]["shift"], params[0]["end"] is not None]
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + q.sql, *q.args(_values(params[0])))
        plan = "\n".join(r[0] for r in rows)
    finally:
        await conn.close()
        await lean.close()
    if api_counts != sql_counts:
        raise SystemExit("the API and the direct SQL disagree on free seat counts")
    return {
        "api": summary_ms(api_times),
        "sql": summary_ms(sql_times),
        "free_mean": sum(api_counts) / len(api_counts),
        "plan": plan,
    }


# ---- booking throughput -----------------------------------------------------------------


def _server_cpu(port: int) -> float | None:
    """CPU seconds (user + system) used so far by the benchmark's server serving on ``port``
    (found by its command line; Linux /proc), or None when it cannot be read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"--serve" in argv and str(port).encode() in argv:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return None


class _Http1:
    """A lean HTTP/1.1 keep-alive client for the load: pre-encoded requests, the status line and
    Content-Length parsed, nothing else. httpx cost ~2.6 ms of CPU per request here, more than the
    bare server itself (~0.6 ms): it made the baseline measure the load generator, not the server."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> int:
        return (await self.request("POST", path, json.dumps(body).encode()))[0]

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path, None)

    async def request(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body_head = "" if data is None else f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{body_head}{self.head}\r\n".encode() + (data or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


class _HttpxPoster:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, path: str, body: dict[str, Any]) -> int:
        return (await self.http.post(path, json=body)).status_code

    async def close(self) -> None:
        await self.http.aclose()


async def load(
    base: str,
    concurrency: int,
    total: int,
    seconds: float,
    headers: dict[str, str],
    make: Callable[[int], tuple[str, dict[str, Any]]],
    client: str = "lean",
) -> dict[str, Any]:
    """`concurrency` clients, each on its own keep-alive connection (``client``: "lean" or "httpx"), send POSTs one after another
    until `total` requests were sent or `seconds` passed; returns counts by status, the successes
    per second, and the CPU per request of the server and of this load generator."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    sent = 0
    host, port_ = base.removeprefix("http://").rsplit(":", 1)
    port = int(port_)
    clients: list[Any] = [_Http1(host, port, headers) for _ in range(concurrency)]
    if client == "httpx":  # what this bench used before: its CPU bounds the bare server's rate
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients = [_HttpxPoster(httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits))]
        clients *= concurrency
    deadline = time.perf_counter() + seconds

    async def worker(http: Any) -> None:
        nonlocal sent
        while sent < total and time.perf_counter() < deadline:
            i = sent
            sent += 1
            path, body = make(i)
            t0 = time.perf_counter()
            status = await http.post(path, body)
            latencies.append(time.perf_counter() - t0)
            statuses[status] += 1

    t0, cpu0, server0 = time.perf_counter(), time.process_time(), _server_cpu(port)
    try:
        await asyncio.gather(*(worker(c) for c in clients))
    finally:
        elapsed = time.perf_counter() - t0
        cpu, server1 = time.process_time() - cpu0, _server_cpu(port)
        for c in set(clients):
            await c.close()
    ok = statuses[201]
    n = max(1, sum(statuses.values()))
    # CPU per request of the server process and of this load generator: what bounds each run
    cpu_note = f"CPU per request: server {(server1 - server0) / n * 1000:.2f} ms" if server0 and server1 else "CPU per request:"
    cpu_note += f", load generator {cpu / n * 1000:.2f} ms"
    return {
        "elapsed": elapsed,
        "statuses": dict(statuses),
        "ok": ok,
        "rate": ok / elapsed,
        "latency": summary_ms(latencies),
        "cpu": cpu_note,
    }


async def warm_up(base: str, headers: dict[str, str], make: Callable[[int], tuple[str, dict[str, Any]]]) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for path, body in (make(i) for i in range(10)):
            await http.post(path, json=body)


async def world(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        sites = [r["id"] for r in await conn.fetch("SELECT id FROM sites ORDER BY code")]
        plans = {r["site_id"]: r["id"] for r in await conn.fetch("SELECT id, site_id FROM plans")}
        clients = [(r["client_id"], r["id"]) for r in await conn.fetch("SELECT id, client_id FROM teams ORDER BY id")]
        return {"sites": sites, "plans": plans, "clients": clients}
    finally:
        await conn.close()


def booking_maker(w: dict[str, Any], seed: int) -> Callable[[int], tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    today = date.today()

    def make(i: int) -> tuple[str, dict[str, Any]]:
        site = rng.choice(w["sites"])
        client_id, team_id = rng.choice(w["clients"])
        start = today + timedelta(days=rng.randint(7, 400))
        return "/v1/leases", {
            "client_id": str(client_id),
            "team_id": str(team_id),
            "site_id": str(site),
            "plan_id": str(w["plans"][site]),
            "shift": rng.choice(("FULL", "DAY", "NIGHT")),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=rng.choice((90, 180, 365)))).isoformat(),
            "seat_count": rng.randint(1, 4),
        }

    return make


async def delete_booked_rows(url: str) -> None:
    """Put the database back as it was built: the bare rows and the API's bookings (made by the
    bench's staff user) go, so every round and every run books into the same free seats."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(
            "DELETE FROM leases WHERE created_by = ANY($1::uuid[]) OR created_by = (SELECT id FROM users WHERE email = $2)",
            [BARE_MARKER, BARE_BOOKING_MARKER],
            STAFF_EMAIL,
        )
        await conn.execute("VACUUM ANALYZE leases, lease_seats, lease_seat_segments")
    finally:
        await conn.close()


async def login(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post(
            "/v1/auth/token", data={"grant_type": "password", "username": STAFF_EMAIL, "password": STAFF_PASSWORD}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


# ---- main -------------------------------------------------------------------------------


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:7.2f} ms   p90 {s['p90']:7.2f} ms   p99 {s['p99']:7.2f} ms   max {s['max']:7.2f} ms  (n={s['n']})"


async def prepare(args: argparse.Namespace) -> str:
    server = server_url(args.data_dir)
    name = args.database
    if args.reuse and await database_exists(server, name):
        print(f"reusing database {name}")
        url = with_database(server, name)
        await asyncio.to_thread(upgrade, url)  # a scratch database from older code catches up first
        return url
    t0 = time.perf_counter()
    url = await recreate_database(server, name)
    await asyncio.to_thread(upgrade, url)
    counts = await build_database(url, args)
    print(
        f"built database {name} in {time.perf_counter() - t0:.1f} s: {counts['seats']:,} seats, "
        f"{counts['leases']:,} leases ({counts['past_leases']:,} past), {counts['lease_seats']:,} lease_seats rows"
    )
    return url


async def run_availability(url: str, args: argparse.Namespace) -> dict[str, Any]:
    w = await world(url)
    port = free_port()
    with child_server(server_args("app", url, port), port, "/healthz") as base:
        token = await login(base)
        return await bench_availability(base, token, url, args, w["sites"])


async def run_booking(url: str, args: argparse.Namespace, seed: int) -> dict[str, dict[str, Any]]:
    """One round: the app, the bare insert (the issue's baseline), and the same booking statements
    by hand (bare_booking.py), each on a fresh server, with the same bodies, each into the seats
    the database was built with."""
    w = await world(url)
    out: dict[str, dict[str, Any]] = {}
    for kind in ("app", "bare", "bare-booking"):
        port = free_port()
        with child_server(server_args(kind, url, port), port, "/healthz") as base:
            headers = {"Authorization": f"Bearer {await login(base)}"} if kind == "app" else {}
            await warm_up(base, headers, booking_maker(w, 1))
            out[kind] = await load(
                base, args.concurrency, args.booking_requests, args.booking_seconds, headers, booking_maker(w, seed), args.client
            )
        await delete_booked_rows(url)
    return out


def result_line(name: str, ratio: float, goal: str, ok: bool, detail: str) -> str:
    """The bench protocol: one line per goal of issue 10, read by the runner."""
    return "RESULT " + json.dumps({"name": name, "ratio": round(ratio, 3), "goal": goal, "ok": ok, "detail": detail})


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


async def main(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    print(f"machine: {load_note()}")
    url = await prepare(args)
    results = []
    if args.only in (None, "availability"):
        print(
            f"\navailability search: {args.availability_requests} sequential requests "
            "(random site, shift FULL/DAY/NIGHT, start in the next 90 days, open or 30-365 day end)"
        )
        av = await run_availability(url, args)
        av_ratio = av["api"]["p99"] / av["sql"]["p99"]
        print(f"  API  GET /v1/sites/{{id}}/availability  {fmt(av['api'])}")
        print(f"  SQL  same query via asyncpg             {fmt(av['sql'])}")
        print(
            f"  ratio API/SQL: p50 {av['api']['p50'] / av['sql']['p50']:.2f}x   p99 {av_ratio:.2f}x"
            f"   (mean free seats found: {av['free_mean']:.0f})"
        )
        if args.explain:
            print("\n  EXPLAIN ANALYZE of the availability query (first request):\n    " + av["plan"].replace("\n", "\n    "))
        results.append(
            result_line(
                "availability p99 API/SQL",
                av_ratio,
                f"<= {AVAILABILITY_RATIO_AIM}",
                av_ratio <= AVAILABILITY_RATIO_AIM,
                f"p99 API {av['api']['p99']:.1f} ms, SQL {av['sql']['p99']:.1f} ms (n={av['api']['n']})",
            )
        )

    if args.only in (None, "booking"):
        print(
            f"\nbooking: {args.concurrency} concurrent clients, at most {args.booking_requests} requests or "
            f"{args.booking_seconds:.0f} s each run, {args.rounds} round(s) of app, bare insert, bare booking; "
            f"{args.client} client"
        )
        ratios, by_hand, rates = [], [], []
        for r in range(args.rounds):
            runs = await run_booking(url, args, seed=2 + r)
            app, bare, hand = runs["app"], runs["bare"], runs["bare-booking"]
            ratios.append(app["rate"] / bare["rate"] if bare["rate"] else float("nan"))
            by_hand.append(app["rate"] / hand["rate"] if hand["rate"] else float("nan"))
            rates.append((app["rate"], bare["rate"], hand["rate"]))
            for label, unit, run in (
                ("API  POST /v1/leases (seat_count 1-4)", "leases/s", app),
                ("bare FastAPI + asyncpg lease INSERT  ", "rows/s  ", bare),
                ("bare booking: the same SQL by hand   ", "leases/s", hand),
            ):
                print(f"  {label} {run['rate']:8.1f} {unit}   statuses {dict(run['statuses'])}   latency {fmt(run['latency'])}")
            print(
                f"  round {r + 1}: API/bare insert {ratios[-1]:.2f}x, API/bare booking {by_hand[-1]:.2f}x   "
                f"API {app['cpu']}; bare {bare['cpu']}; bare booking {hand['cpu']}"
            )
        ratio, hand_ratio = statistics.median(ratios), statistics.median(by_hand)
        print(
            f"  median of {len(ratios)}: API/bare insert {ratio:.2f}x (the issue's goal), "
            f"API/bare booking {hand_ratio:.2f}x (the booking's own statements by hand)"
        )
        detail = f" ({args.concurrency} clients, {args.client} load generator, median of {len(ratios)})"
        results.append(
            result_line(
                "booking throughput API/bare insert",
                ratio,
                f">= {BOOKING_RATIO_AIM}",
                ratio >= BOOKING_RATIO_AIM,
                "; ".join(f"{a:.0f} vs {b:.0f} per s" for a, b, _ in rates) + detail,
            )
        )
        results.append(
            result_line(
                "booking throughput API/same SQL by hand",
                hand_ratio,
                f">= {BOOKING_RATIO_AIM}",
                hand_ratio >= BOOKING_RATIO_AIM,
                "; ".join(f"{a:.0f} vs {h:.0f} per s" for a, _, h in rates) + detail,
            )
        )

    print(f"\ntotal run time {time.perf_counter() - t0:.0f} s; {load_note()}")
    print("(absolute figures scale with what else runs on the machine; the ratios are measured side by side)")
    for line in results:
        print(line)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="embedded PostgreSQL data dir")
    p.add_argument("--database", default="bench_leasing", help="scratch database name (dropped and re-created)")
    p.add_argument("--reuse", action="store_true", help="reuse the scratch database if it exists")
    p.add_argument("--sites", type=int, default=3)
    p.add_argument("--floors", type=int, default=4, help="floors per site")
    p.add_argument("--zones", type=int, default=6, help="zones per floor")
    p.add_argument("--seats-per-zone", type=int, default=300)
    p.add_argument("--clients", type=int, default=40)
    p.add_argument("--leases", type=int, default=100_000, help="at least this many past leases")
    p.add_argument("--availability-requests", type=int, default=1000, help="sequential searches (p99 is the 10th worst of 1,000)")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--booking-requests", type=int, default=1500, help="at most this many POSTs per run")
    p.add_argument("--booking-seconds", type=float, default=15.0, help="at most this long per run")
    p.add_argument("--explain", action="store_true", help="print the availability query plan")
    p.add_argument("--only", choices=("availability", "booking"), help="run only this part")
    p.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="HTTP client of both parts: a lean HTTP/1.1 client (default), or httpx (its CPU is then part of what is measured)",
    )
    p.add_argument("--rounds", type=int, default=3, help="booking: rounds of app then bare (median ratio)")
    p.add_argument("--serve", choices=("app", "bare", "bare-booking"), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    # the API refuses to run without a real key; a throw-away one for this run (and the server it starts)
    os.environ.setdefault("SEATLEASE_SECRET_KEY", secrets.token_urlsafe(48))
    ns = parse()
    if ns.serve:
        serve(ns.serve, ns.url, ns.port)
    else:
        asyncio.run(main(ns))
