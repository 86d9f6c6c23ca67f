"""The help desk over 100,000 tickets (issue 15): p99 of the KPI API and of the admin's ticket queue page,
each beside the same SQL run bare.

    .venv/bin/python bench/bench_helpdesk.py                    # 100,000 tickets over 12 months, 20 requests each
    .venv/bin/python bench/bench_helpdesk.py --tickets 5000     # a quick look

Data is bulk SQL into a scratch database on the embedded PostgreSQL (DATABASE_URL's server when set),
migrations the real ones, over a catalog like the demo's, larger: two sites (Manila, Austin) with five
floors of 60 seats each, DAY/MID/NIGHT shifts, a PC, a monitor and a headset on every seat, ten clients
leasing every seat by DAY and by NIGHT in blocks of 20 since thirteen months ago. The tickets come by COPY:
spread over the last twelve months (more by day than by night), categories, priorities and statuses in
realistic shares (device and IT most, urgent few; older ones resolved or closed, recent ones open),
response and resolution times log-normal per priority against SLA targets per priority, about one in ten
breached, four in five about a seat (two in three of those about one of its devices) and its lease.

The real app serves in a child process (uvicorn, loopback); a facility-staff login signs in; each KPI
request (twelve months on every site, weekly; the last 30 days of one site, daily) is sent in turn with
the very statements it runs (domain/helpdesk/kpis.py) run bare on one asyncpg connection, sequentially.
Then a facility-staff admin session opens the ticket queue (/admin/tickets: every open ticket, then one
site's breached ones), each page in turn with the statement domain/helpdesk/queue.py sends for it, bare.
Prints p50/p99 of each and the ratio API (or page) / SQL, and which index each KPI statement's plan reads.

Aim: each KPI request's p99 through the API within 1.5x its bare SQL (a RESULT line each); the queue page's
ratio is printed as a figure (its SQL is one index page of a few ms, the HTML of 50 rows is most of the time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asyncpg
import httpx
from common import (
    child_server,
    free_port,
    plain_url,
    recreate_database,
    serve_or_run,
    served_bench_parser,
    server_url,
    summary_ms,
    timed_pairs,
)
from sqlalchemy import select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from domain.helpdesk import kpis, queue
from domain.helpdesk.queue import QueueFilters
from domain.models import Client, Seat, Site, Ticket, User
from service.auth import hash_secret
from service.migrate import upgrade

EMAIL = "bench-staff@seatlease-example.com"
PASSWORD = "bench staff password"
SITES = [("MNL", "Asia/Manila", "PHP", "0.12", 1_500_000), ("AUS", "America/Chicago", "USD", "0.0825", 45_000)]
FLOORS, SEATS_PER_FLOOR, BLOCK = 5, 60, 20
AIM = 1.5
SCRIPT = str(Path(__file__).resolve())
QUEUE_PAGE = 50  # service/admin/helpdesk.py PAGE_SIZE

CATEGORIES = [("it", 25), ("device", 30), ("network", 15), ("power", 8), ("facility", 15), ("access", 7)]
PRIORITIES = [("urgent", 5), ("high", 20), ("normal", 55), ("low", 20)]
# response and resolution targets (minutes) and the median actual times (minutes) per priority
TARGETS = {"urgent": (15, 240), "high": (60, 480), "normal": (240, 1440), "low": (480, 4320)}
MEDIANS = {"urgent": (5, 80), "high": (18, 160), "normal": (60, 480), "low": (120, 1400)}
TICKET_COLUMNS = [
    "id", "site_id", "client_id", "seat_id", "device_id", "lease_id", "category", "priority", "status", "subject",
    "raised_by", "raised_via", "occurred_at", "created_at", "updated_at", "responded_at", "resolved_at", "closed_at",
    "response_due_at", "resolution_due_at", "sla_paused_at", "response_breached_at", "resolution_breached_at",
    "sla_started_at", "response_warn_at", "resolution_warn_at",
]  # fmt: skip


async def build_catalog(conn: Any, today: date) -> list[dict[str, Any]]:
    """Sites, floors, shifts, plans, seats, devices, clients and leases; returns every seat with its site,
    devices and its DAY and NIGHT leases."""
    start = today - timedelta(days=400)
    for code, tz, cur, rate, price in SITES:
        site = await conn.fetchval(
            "INSERT INTO sites (id, code, name, timezone, currency, tax_rate) "
            "VALUES (gen_random_uuid(), $1::text, 'Site ' || $1::text, $2, $3, $4::numeric) RETURNING id",
            code,
            tz,
            cur,
            rate,
        )
        await conn.execute(
            "INSERT INTO floors (id, site_id, name, level) "
            "SELECT gen_random_uuid(), $1, f || 'F', f FROM generate_series(1, $2) f",
            site,
            FLOORS,
        )
        await conn.execute(
            """INSERT INTO shifts (id, site_id, code, starts_at, ends_at) VALUES
               (gen_random_uuid(), $1, 'FULL', '00:00', '00:00'), (gen_random_uuid(), $1, 'DAY', '06:00', '15:00'),
               (gen_random_uuid(), $1, 'MID', '14:00', '23:00'), (gen_random_uuid(), $1, 'NIGHT', '21:00', '06:00')""",
            site,
        )
        await conn.execute(
            "INSERT INTO plans (id, site_id, name, monthly_price_minor, setup_fee_minor, deposit_months) "
            "VALUES (gen_random_uuid(), $1, 'Standard seat', $2, $3, 1)",
            site,
            price,
            price // 6,
        )
        await conn.execute(
            """INSERT INTO seats (id, site_id, floor_id, zone, label, x, y)
               SELECT gen_random_uuid(), $1, f.id, chr(65 + (g / 20)),
                      f.level || 'F-' || chr(65 + (g / 20)) || '-' || lpad(g::text, 3, '0'), g % 20, g / 20
               FROM floors f CROSS JOIN generate_series(0, $2 - 1) g WHERE f.site_id = $1""",
            site,
            SEATS_PER_FLOOR,
        )
    await conn.execute(
        """INSERT INTO devices (id, serial, kind, model, site_id, status, seat_id)
           SELECT gen_random_uuid(), upper(k.kind) || '-' || substr(replace(s.id::text, '-', ''), 1, 12), k.kind,
                  k.kind || ' model', s.site_id, 'assigned', s.id
           FROM seats s CROSS JOIN (VALUES ('pc'), ('monitor'), ('headset')) k(kind)"""
    )
    await conn.execute(
        """INSERT INTO clients (id, legal_name, billing_email, payment_terms_days)
           SELECT gen_random_uuid(), 'BPO client ' || g, 'ap' || g || '@client-example.com', 30 FROM generate_series(1, 10) g"""
    )
    await conn.execute("INSERT INTO teams (id, client_id, name) SELECT gen_random_uuid(), id, 'Team' FROM clients")
    # a block of 20 seats per lease and shift, DAY and NIGHT; clients in turn
    await conn.execute(
        """CREATE TEMP TABLE blk AS
           SELECT s.id AS seat_id, s.site_id, (row_number() OVER (PARTITION BY s.site_id ORDER BY s.label) - 1) / $1 AS b
           FROM seats s""",
        BLOCK,
    )
    await conn.execute(
        """CREATE TEMP TABLE bl AS
           SELECT x.*, gen_random_uuid() AS lease_id
           FROM (SELECT DISTINCT blk.site_id, blk.b, sh.code AS shift
                 FROM blk CROSS JOIN (VALUES ('DAY'), ('NIGHT')) sh(code)) x"""
    )
    await conn.execute(
        """INSERT INTO leases (id, client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date, status,
                               discount_pct, monthly_price_minor, setup_fee_minor, deposit_months)
           SELECT bl.lease_id, c.id, t.id, bl.site_id, p.id, sh.id, bl.shift, $1, NULL, 'active', 0,
                  p.monthly_price_minor, p.setup_fee_minor, 1
           FROM bl
           JOIN (SELECT id, row_number() OVER (ORDER BY legal_name) - 1 AS n FROM clients) c
             ON c.n = (bl.b * 2 + CASE bl.shift WHEN 'DAY' THEN 0 ELSE 1 END) % 10
           JOIN teams t ON t.client_id = c.id
           JOIN plans p ON p.site_id = bl.site_id
           JOIN shifts sh ON sh.site_id = bl.site_id AND sh.code = bl.shift""",
        start,
    )
    await conn.execute(
        """INSERT INTO lease_seats (id, lease_id, seat_id, start_date, end_date, window_start_min, window_end_min)
           SELECT gen_random_uuid(), bl.lease_id, blk.seat_id, $1, NULL,
                  CASE bl.shift WHEN 'DAY' THEN 360 ELSE 1260 END, CASE bl.shift WHEN 'DAY' THEN 900 ELSE 360 END
           FROM blk JOIN bl ON bl.site_id = blk.site_id AND bl.b = blk.b""",
        start,
    )
    rows = await conn.fetch(
        """SELECT s.id AS seat_id, s.site_id, si.timezone,
                  (SELECT array_agg(d.id ORDER BY d.kind) FROM devices d WHERE d.seat_id = s.id) AS devices,
                  max(l.id::text) FILTER (WHERE l.shift_code = 'DAY') AS day_lease,
                  max(l.client_id::text) FILTER (WHERE l.shift_code = 'DAY') AS day_client,
                  max(l.id::text) FILTER (WHERE l.shift_code = 'NIGHT') AS night_lease,
                  max(l.client_id::text) FILTER (WHERE l.shift_code = 'NIGHT') AS night_client
           FROM seats s JOIN sites si ON si.id = s.site_id
           JOIN lease_seats ls ON ls.seat_id = s.id JOIN leases l ON l.id = ls.lease_id
           GROUP BY s.id, s.site_id, si.timezone"""
    )
    return [dict(r) for r in rows]


def breach(due: datetime | None, done: datetime | None, now: datetime, *, paused: datetime | None) -> datetime | None:
    """When the SLA clock ran out, if it did: done late, or not done and past due (a paused clock stands)."""
    if due is None or (done is None and paused is not None):
        return None
    return due if (done or now) > due else None


def ticket_rows(n: int, seats: list[dict[str, Any]], sites: dict[str, uuid.UUID], now: datetime) -> list[tuple[Any, ...]]:
    """`n` tickets over the 365 days before now, deterministic (seeded)."""
    rnd = random.Random(15)
    cats = [c for c, w in CATEGORIES for _ in range(w)]
    pris = [p for p, w in PRIORITIES for _ in range(w)]
    site_ids = list(sites.values())
    minute = timedelta(minutes=1)
    out = []
    for _ in range(n):
        created = now - timedelta(seconds=rnd.random() * 365 * 86400)
        # two in three by day (the local hour is close enough to UTC's shape for a spread)
        if rnd.random() < 0.66 and created.hour >= 16:
            created -= timedelta(hours=8)
        occurred = created - timedelta(minutes=rnd.expovariate(1 / 20))
        category, priority = rnd.choice(cats), rnd.choice(pris)
        seat = rnd.choice(seats) if rnd.random() < 0.8 else None
        site_id = seat["site_id"] if seat else rnd.choice(site_ids)
        device = rnd.choice(seat["devices"]) if seat and category in ("device", "it") and rnd.random() < 0.67 else None
        night = seat is not None and (occurred.hour >= 13 or occurred.hour < 1)  # a rough night in UTC+8
        lease = client = None
        if seat:
            lease = uuid.UUID(seat["night_lease" if night else "day_lease"])
            client = uuid.UUID(seat["night_client" if night else "day_client"])
        resp_target, res_target = TARGETS[priority]
        resp_med, res_med = MEDIANS[priority]
        has_sla = rnd.random() < 0.95
        resp_due = created + resp_target * minute if has_sla else None
        res_due = created + res_target * minute if has_sla else None
        answer = created + rnd.lognormvariate(math.log(resp_med), 0.7) * minute
        fix = answer + rnd.lognormvariate(math.log(res_med), 0.7) * minute
        age = now - created
        responded: datetime | None = answer if answer <= now else None
        resolved: datetime | None = fix if fix <= now and not (age < timedelta(days=2) and rnd.random() < 0.5) else None
        paused: datetime | None = None
        closed: datetime | None = None
        if responded is None:
            status = "new"
        elif resolved is None:
            status = rnd.choice(["acknowledged", "in_progress", "in_progress", "waiting_on_client"])
            paused = now - timedelta(hours=1) if status == "waiting_on_client" else None
        elif age < timedelta(days=7):
            status = "resolved"
        else:
            status, closed = "closed", resolved + timedelta(days=3)
        resp_breach = breach(resp_due, responded, now, paused=None)
        res_breach = breach(res_due, resolved, now, paused=paused)
        out.append(
            (
                uuid.uuid4(),
                site_id,
                client,
                seat["seat_id"] if seat else None,
                device,
                lease,
                category,
                priority,
                status,
                f"{category} issue",
                "bench@seatlease-example.com",
                rnd.choice(["api", "portal", "admin"]),
                occurred,
                created,
                resolved or responded or created,
                responded,
                resolved,
                closed,
                resp_due,
                res_due,
                paused,
                resp_breach,
                res_breach,
                created if has_sla else None,
                created + resp_target * minute * 0.8 if has_sla else None,
                created + res_target * minute * 0.8 if has_sla else None,
            )
        )
    return out


async def generate(url: str, n: int, now: datetime) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("SET synchronous_commit = off")
        seats = await build_catalog(conn, now.date())
        sites = {r["code"]: r["id"] for r in await conn.fetch("SELECT code, id FROM sites")}
        rows = ticket_rows(n, seats, sites, now)
        t0 = time.perf_counter()
        await conn.copy_records_to_table("tickets", records=rows, columns=TICKET_COLUMNS)
        copied = time.perf_counter() - t0
        await conn.execute(
            "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'facility_staff')", EMAIL, hash_secret(PASSWORD)
        )
        await conn.execute("VACUUM ANALYZE")
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in ("seats", "devices", "leases", "tickets")}
        counts["copy_ms"] = round(copied * 1000)
        counts["breached"] = int(
            await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL"
            )
        )
        return counts
    finally:
        await conn.close()


def kpi_bare(conn: Any, period: kpis.Period, site_id: uuid.UUID | None, tz: str | None, threshold: int) -> Any:
    """The three statements of GET /v1/helpdesk/kpis with the arguments it passes."""

    async def run() -> None:
        now = datetime.now(UTC)
        await conn.fetch(kpis.SUMMARY_SQL, *kpis.summary_args(period, site_id, now))
        since, until = kpis.assets_window(period, _TzSite(tz) if tz else None, now)  # type: ignore[arg-type]
        await conn.fetch(kpis.ASSETS_SQL, since, until, site_id, threshold)
        await conn.fetch(kpis.INCIDENTS_SQL, *kpis.incidents_args(period, site_id))

    return run


class _TzSite:
    def __init__(self, timezone: str) -> None:
        self.timezone = timezone


async def plans(conn: Any, period: kpis.Period, site_id: uuid.UUID | None) -> dict[str, str]:
    """Which index each statement's plan reads (or "no index")."""
    now = datetime.now(UTC)
    since, until = kpis.assets_window(period, None, now)
    out = {}
    for name, sql, args in (
        ("summary", kpis.SUMMARY_SQL, kpis.summary_args(period, site_id, now)),
        ("assets", kpis.ASSETS_SQL, [since, until, site_id, 3]),
        ("incidents", kpis.INCIDENTS_SQL, kpis.incidents_args(period, site_id)),
    ):
        text = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
        found = sorted({w.strip('"(),') for w in text.split() if w.startswith(("ix_", "ex_", "tickets_pkey"))})
        out[name] = ", ".join(found) or "no index"
    return out


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:8.1f} ms  p99 {s['p99']:8.1f} ms  (n={s['n']})"


def result(name: str, api: dict[str, float], bare: dict[str, float], detail: str) -> None:
    ratio = api["p99"] / bare["p99"]
    print(f"  {name:34s} API {fmt(api)}   bare SQL {fmt(bare)}   p99 ratio {ratio:.2f}")
    # the queue's statement reads one page off its index in a few ms whatever the table's size: beside
    # it the page's HTML for 50 rows is most of the time, so its ratio is a figure, not a goal
    goal = "info" if name.startswith("queue") else f"<= {AIM}"
    line = {"name": f"{name} p99 API/SQL", "ratio": round(ratio, 3), "goal": goal, "ok": ratio <= AIM}
    line["detail"] = f"{detail}: API p99 {api['p99']:.0f} ms, SQL p99 {bare['p99']:.0f} ms"
    print("RESULT " + json.dumps(line), flush=True)


async def main(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    server = server_url(args.data_dir)
    t0 = time.perf_counter()
    url = await recreate_database(server, args.database)
    await asyncio.to_thread(upgrade, url)
    counts = await generate(url, args.tickets, now)
    print(
        f"built {args.database} in {time.perf_counter() - t0:.1f} s: {counts['seats']:,} seats, {counts['devices']:,} devices, "
        f"{counts['leases']:,} leases, {counts['tickets']:,} tickets (COPY {counts['copy_ms']:,} ms, "
        f"{counts['breached']:,} with a breach)"
    )
    today = now.date()
    year = kpis.parse_period((today - timedelta(days=364)).isoformat(), today.isoformat(), None, today)
    month = kpis.parse_period(None, today.isoformat(), None, today)
    port = free_port()
    conn = await asyncpg.connect(plain_url(url))
    figures: list[tuple[str, dict[str, float], dict[str, float], str]] = []
    try:
        mnl_id, mnl_tz = (await conn.fetchrow("SELECT id, timezone FROM sites WHERE code = 'MNL'")).values()
        for label, (period, site) in {"12 months, all sites": (year, None), "30 days, MNL": (month, mnl_id)}.items():
            print(f"  plans ({label}): {await plans(conn, period, site)}")
        with child_server([SCRIPT, "--serve", "--url", url, "--port", str(port)], port, "/healthz") as base:
            async with httpx.AsyncClient(base_url=base, timeout=300) as http:
                r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": EMAIL, "password": PASSWORD})
                assert r.status_code == 200, r.text
                headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
                cases = {
                    "KPIs 12 months, all sites": (year, None, None),
                    "KPIs 30 days, one site": (month, mnl_id, mnl_tz),
                }
                for name, (period, site_id, tz) in cases.items():
                    params = {"from": period.first.isoformat(), "to": period.last.isoformat()}
                    if site_id:
                        params["site_id"] = str(site_id)

                    async def get(params: dict[str, str] = params) -> None:
                        resp = await http.get("/v1/helpdesk/kpis", params=params, headers=headers)
                        assert resp.status_code == 200, resp.text
                        assert resp.json()["totals"]["opened"] > 0

                    api_t, bare_t = await timed_pairs(get, kpi_bare(conn, period, site_id, tz, 3), args.requests)
                    figures.append((name, summary_ms(api_t), summary_ms(bare_t), f"{counts['tickets']:,} tickets"))
                    print(f"  {name}: done", flush=True)
            figures += await bench_queue(base, conn, mnl_id, args.requests, counts["tickets"])
    finally:
        await conn.close()
    print(f"\nover {counts['tickets']:,} tickets, sequential requests over loopback:")
    for name, api, bare, detail in figures:
        result(name, api, bare, detail)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (p99 is sensitive to it)")


async def admin_login(http: httpx.AsyncClient) -> None:
    page = await http.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    data = {"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD, "next": "/admin/"}
    r = await http.post("/admin/login", data=data)
    assert r.status_code == 303, f"admin login failed: {r.status_code}"


def queue_statement(filters: QueueFilters, now: datetime, limit: int) -> Any:
    """The statement domain/helpdesk/queue.py `ticket_queue` sends for a first page (the same select, joins,
    conditions, order and limit), to run bare."""
    return (
        select(Ticket, Site.code, Seat.label, Client.legal_name, User.email)
        .join(Site, Site.id == Ticket.site_id)
        .outerjoin(Seat, Seat.id == Ticket.seat_id)
        .outerjoin(Client, Client.id == Ticket.client_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(*queue._conditions(filters, now))
        .order_by(Ticket.sla_next_due_at, Ticket.id)
        .limit(limit + 1)
    )


async def bench_queue(
    base: str, conn: Any, site_id: uuid.UUID, n: int, tickets: int
) -> list[tuple[str, dict[str, float], dict[str, float], str]]:
    """The admin's ticket queue page (/admin/tickets) beside its one statement run bare."""
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        await admin_login(http)
        for name, params, filters in (
            ("queue page, all open", {}, QueueFilters()),
            (
                "queue page, one site, breached",
                {"site": str(site_id), "breached": "1"},
                QueueFilters(site_id=site_id, breached=True),
            ),
        ):

            async def page(params: dict[str, str] = params) -> None:
                r = await http.get("/admin/tickets", params=params)
                assert r.status_code == 200, r.text[:500]

            compiled = queue_statement(filters, datetime.now(UTC), QUEUE_PAGE).compile(
                dialect=PGDialect_asyncpg(), compile_kwargs={"render_postcompile": True}
            )
            names, defaults = list(compiled.positiontup or []), dict(compiled.params)

            async def bare(sql: str = str(compiled), names: list[str] = names, defaults: dict[str, Any] = defaults) -> None:
                # the page reads "now" at each request: so does the bare run
                args = [datetime.now(UTC) if isinstance(defaults[n], datetime) else defaults[n] for n in names]
                await conn.fetch(sql, *args)

            api_t, bare_t = await timed_pairs(page, bare, n)
            out.append((name, summary_ms(api_t), summary_ms(bare_t), f"{tickets:,} tickets"))
            print(f"  {name}: done", flush=True)
    return out


if __name__ == "__main__":
    os.environ.setdefault("SEATLEASE_SECRET_KEY", secrets.token_urlsafe(48))
    parser = served_bench_parser(__doc__, "bench_helpdesk")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per figure (p99 of 20 is their maximum)")
    serve_or_run(parser.parse_args(), main)
