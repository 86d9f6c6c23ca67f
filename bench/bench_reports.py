"""Month-end revenue reports over 100,000 leases: p99 through the API beside the same SQL run bare.

    .venv/bin/python bench/bench_reports.py                   # 100,000 leases, 12 months, 20 requests each
    .venv/bin/python bench/bench_reports.py --leases 2000     # a quick look

Data is bulk SQL into a scratch database on the embedded PostgreSQL (DATABASE_URL's server when set),
migrations the real ones: five sites in four currencies, each with five floors and DAY/MID/NIGHT
shifts; 5,000 clients with 20 leases each (by day or by night, two seats each, starts spread over
three years, three in ten ended, one in ten escalating yearly, one in twenty with a dated price
step, half with an add-on, one in ten discounted), and an issued invoice per client and month of
the range with a line per lease in force. The real app serves in a child process (uvicorn, loopback);
finance signs in; each report of the range (MRR and movement, revenue by site and by floor,
occupancy, RevPASS) is requested, in turn with the very SQL it runs (billing/revenue*.py) run bare on
one asyncpg connection, sequentially. Prints p50/p99 of each and the ratio API / SQL.

Aim (issue 12): each report's p99 through the API within 1.5x its bare SQL (a RESULT line each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
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

from billing import revenue, revenue_dims
from billing.facts import Month
from billing.revenue_schemas import ReportRange, parse_range
from service.auth import hash_secret
from service.migrate import upgrade

EMAIL = "bench-finance@seatlease-example.com"
PASSWORD = "bench finance password"
SITES = [
    ("MNL", "Asia/Manila", "PHP", "0.12", 1_500_000),
    ("CEB", "Asia/Manila", "PHP", "0.12", 1_200_000),
    ("TYO", "Asia/Tokyo", "JPY", "0.10", 45_000),
    ("NYC", "America/New_York", "USD", "0.08875", 45_000),
    ("HNL", "Pacific/Honolulu", "USD", "0.04712", 39_900),
]
AIM = 1.5
SCRIPT = str(Path(__file__).resolve())


async def generate(url: str, leases: int, rng: ReportRange) -> dict[str, int]:
    clients = max(1, leases // 20)
    per_site = -(-leases // len(SITES))
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("SET synchronous_commit = off")
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
                """INSERT INTO floors (id, site_id, name, level) SELECT gen_random_uuid(), $1, f || 'F', f
                   FROM generate_series(1, 5) f""",
                site,
            )
            await conn.execute(
                """INSERT INTO shifts (id, site_id, code, starts_at, ends_at) VALUES
                   (gen_random_uuid(), $1, 'FULL', '00:00', '00:00'), (gen_random_uuid(), $1, 'DAY', '06:00', '15:00'),
                   (gen_random_uuid(), $1, 'MID', '14:00', '23:00'), (gen_random_uuid(), $1, 'NIGHT', '21:00', '06:00')""",
                site,
            )
            plan = await conn.fetchval(
                "INSERT INTO plans (id, site_id, name, monthly_price_minor, setup_fee_minor, deposit_months) "
                "VALUES (gen_random_uuid(), $1, 'Standard seat', $2, $3, 1) RETURNING id",
                site,
                price,
                price // 6,
            )
            await conn.execute(
                """INSERT INTO inclusions (id, plan_id, code, name, kind, billing, unit_price_minor, quantity_per_seat)
                   VALUES (gen_random_uuid(), $1, 'power', 'Power', 'power', 'included', 0, 1),
                          (gen_random_uuid(), $1, 'monitor', 'Extra monitor', 'device', 'monthly', $2, 1)""",
                plan,
                price // 30,
            )
            # one seat per lease: a DAY lease and a NIGHT lease share each pair of seats
            await conn.execute(
                """INSERT INTO seats (id, site_id, floor_id, zone, label, x, y)
                   SELECT gen_random_uuid(), $1, f.id, 'Z' || (g % 50), 'S-' || lpad(g::text, 6, '0'), g % 100, g / 100
                   FROM generate_series(0, $2 - 1) g JOIN floors f ON f.site_id = $1 AND f.level = 1 + g * 5 / $2""",
                site,
                per_site + 2,
            )
        await conn.execute(
            """INSERT INTO clients (id, legal_name, billing_email, payment_terms_days)
               SELECT gen_random_uuid(), 'Client ' || lpad(g::text, 6, '0'), 'ap' || g || '@client-example.com', 30
               FROM generate_series(1, $1) g""",
            clients,
        )
        await conn.execute("INSERT INTO teams (id, client_id, name) SELECT gen_random_uuid(), id, 'Team' FROM clients")
        today = rng.last.last
        # (CREATE TABLE AS takes no parameters: the two integers are written in)
        await conn.execute(
            f"""CREATE TEMP TABLE g AS
               SELECT k, (k % {len(SITES):d}) AS site_k, (k / {len(SITES):d}) AS r, hashtext(k::text) & 2147483647 AS h
               FROM generate_series(0, {leases:d} - 1) k"""
        )
        await conn.execute(
            """CREATE TEMP TABLE s AS SELECT s.id AS site_id, row_number() OVER (ORDER BY s.code) - 1 AS k, p.id AS plan_id,
                      p.monthly_price_minor AS price, s.currency
               FROM sites s JOIN plans p ON p.site_id = s.id"""
        )
        await conn.execute(
            """CREATE TEMP TABLE c AS SELECT c.id, t.id AS team_id, row_number() OVER (ORDER BY c.id) - 1 AS n
               FROM clients c JOIN teams t ON t.client_id = c.id"""
        )
        await conn.execute(
            """INSERT INTO leases (id, client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date, status,
                                   discount_pct, monthly_price_minor, setup_fee_minor, deposit_months, escalation_pct)
               SELECT gen_random_uuid(), c.id, c.team_id, s.site_id, s.plan_id, sh.id, sh.code, x.start_date, x.end_date,
                      CASE WHEN x.end_date < $2 THEN 'ended' WHEN x.start_date > $2 THEN 'confirmed' ELSE 'active' END,
                      CASE WHEN g.h % 10 = 0 THEN 5 ELSE 0 END, s.price, s.price / 6, 1,
                      CASE WHEN g.h % 10 = 1 THEN 5 END
               FROM g JOIN s ON s.k = g.site_k
               JOIN c ON c.n = (g.k / 20) % $1
               JOIN shifts sh ON sh.site_id = s.site_id AND sh.code = CASE WHEN g.r % 2 = 0 THEN 'DAY' ELSE 'NIGHT' END
               CROSS JOIN LATERAL (SELECT ($2::date - 1000 + g.h % 1100) AS start_date) st
               CROSS JOIN LATERAL (
                 SELECT st.start_date, CASE WHEN g.h % 10 IN (3, 4, 5) THEN st.start_date + 150 + g.h % 600 END AS end_date
               ) x""",
            clients,
            today,
        )
        # the r-th lease of a site takes the seats of pair r / 2 (DAY and NIGHT leases share them)
        await conn.execute(
            """INSERT INTO lease_seats (id, lease_id, seat_id, start_date, end_date, window_start_min, window_end_min)
               SELECT gen_random_uuid(), l.id, se.id, l.start_date, l.end_date,
                      CASE l.shift_code WHEN 'DAY' THEN 360 ELSE 1260 END, CASE l.shift_code WHEN 'DAY' THEN 900 ELSE 360 END
               FROM (SELECT l.*, row_number() OVER (PARTITION BY l.site_id, l.shift_code ORDER BY l.id) - 1 AS r FROM leases l) l
               CROSS JOIN generate_series(0, 1) AS j(j)
               JOIN seats se ON se.site_id = l.site_id AND se.label = 'S-' || lpad((l.r * 2 + j.j)::text, 6, '0')"""
        )
        await conn.execute(
            """INSERT INTO lease_price_steps (id, lease_id, effective_date, monthly_price_minor)
               SELECT gen_random_uuid(), id, start_date + 400, monthly_price_minor * 11 / 10 FROM leases
               WHERE (hashtext(id::text) & 2147483647) % 20 = 0 AND (end_date IS NULL OR end_date >= start_date + 400)"""
        )
        await conn.execute(
            """INSERT INTO lease_add_ons (id, lease_id, inclusion_id, quantity, unit_price_minor)
               SELECT gen_random_uuid(), l.id, i.id, 1, i.unit_price_minor
               FROM leases l JOIN inclusions i ON i.plan_id = l.plan_id AND i.code = 'monitor'
               WHERE get_byte(uuid_send(l.id), 0) % 2 = 0"""
        )
        # an issued invoice per client, site and month of the range, a line per lease in force
        await conn.execute(
            f"""CREATE TEMP TABLE m AS SELECT d::date AS first, (d + interval '1 month - 1 day')::date AS last
               FROM generate_series('{rng.first.first.isoformat()}'::date, '{rng.last.first.isoformat()}'::date,
                                    interval '1 month') d"""
        )
        await conn.execute(
            """INSERT INTO invoices (id, client_id, site_id, period, currency, status, number, number_label, issue_date,
                                     subtotal_minor, tax_minor, total_minor, stripe_state)
               SELECT gen_random_uuid(), x.client_id, x.site_id, to_char(x.first, 'YYYY-MM'), s.currency, 'issued',
                      row_number() OVER (PARTITION BY x.site_id ORDER BY x.first, x.client_id),
                      'INV-' || row_number() OVER (PARTITION BY x.site_id ORDER BY x.first, x.client_id),
                      x.first, 0, 0, 0, 'synced'
               FROM (SELECT DISTINCT l.client_id, l.site_id, m.first FROM leases l JOIN m
                     ON l.start_date <= m.last AND (l.end_date IS NULL OR l.end_date >= m.first)) x
               JOIN sites s ON s.id = x.site_id"""
        )
        await conn.execute(
            """INSERT INTO invoice_lines (id, invoice_id, position, kind, lease_id, service_month, description, quantity,
                                          unit_price_minor, amount_minor, tax_minor, units)
               SELECT gen_random_uuid(), i.id, row_number() OVER (PARTITION BY i.id ORDER BY l.id), 'seat', l.id, m.first,
                      'Standard seat', 2, l.monthly_price_minor, 2 * l.monthly_price_minor, 0, 2 * (m.last - m.first + 1)
               FROM leases l JOIN m ON l.start_date <= m.last AND (l.end_date IS NULL OR l.end_date >= m.first)
               JOIN invoices i ON i.client_id = l.client_id AND i.site_id = l.site_id
                              AND i.period = to_char(m.first, 'YYYY-MM')"""
        )
        await conn.execute(
            "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'finance')", EMAIL, hash_secret(PASSWORD)
        )
        await conn.execute("VACUUM ANALYZE")
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in ("leases", "lease_seats", "invoice_lines")}
    finally:
        await conn.close()


def bare_calls(conn: Any, rng: ReportRange) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Each report's own SQL, with the arguments the report passes, on a bare asyncpg connection."""
    a = [rng.first.first, rng.last.first, None, None]

    async def mrr() -> Any:
        args = await revenue.lease_mrr_args(conn, rng, None, None)  # its escalation table query, then the report
        return await conn.fetch(revenue.MOVEMENT_SQL, *args)

    async def revpass() -> Any:
        await conn.fetch(revenue_dims.revenue_sql("shift"), *a)
        return await conn.fetch(revenue_dims.REVPASS_CAPACITY_SQL, a[0], a[1], None)

    return {
        "mrr": mrr,
        "revenue by site": lambda: conn.fetch(revenue_dims.revenue_sql("site"), *a),
        "revenue by floor": lambda: conn.fetch(revenue_dims.revenue_sql("floor"), *a),
        "occupancy": lambda: conn.fetch(revenue_dims.OCCUPANCY_SQL, a[0], a[1], None),
        "revpass": revpass,
    }


PATHS = {
    "mrr": ("/v1/reports/mrr", {}),
    "revenue by site": ("/v1/reports/revenue", {"by": "site"}),
    "revenue by floor": ("/v1/reports/revenue", {"by": "floor"}),
    "occupancy": ("/v1/reports/occupancy/monthly", {}),
    "revpass": ("/v1/reports/revpass", {}),
}


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:8.1f} ms  p99 {s['p99']:8.1f} ms  (n={s['n']})"


async def main(args: argparse.Namespace) -> None:
    first = Month.parse(args.to)
    for _ in range(args.months - 1):
        first = first.prev()
    rng = parse_range(str(first), args.to)
    server = server_url(args.data_dir)
    t0 = time.perf_counter()
    url = await recreate_database(server, args.database)
    await asyncio.to_thread(upgrade, url)
    counts = await generate(url, args.leases, rng)
    print(
        f"built {args.database} in {time.perf_counter() - t0:.1f} s: {counts['leases']:,} leases, "
        f"{counts['lease_seats']:,} lease seats, {counts['invoice_lines']:,} invoice lines; range {rng.first} to {rng.last}"
    )
    port = free_port()
    api: dict[str, dict[str, float]] = {}
    bare: dict[str, dict[str, float]] = {}
    conn = await asyncpg.connect(plain_url(url))
    try:
        with child_server([SCRIPT, "--serve", "--url", url, "--port", str(port)], port, "/healthz") as base:
            async with httpx.AsyncClient(base_url=base, timeout=300) as http:
                r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": EMAIL, "password": PASSWORD})
                assert r.status_code == 200, r.text
                headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
                sql = bare_calls(conn, rng)
                for name, (path, extra) in PATHS.items():
                    params = {"from": str(rng.first), "to": str(rng.last), **extra}

                    async def get(path: str = path, params: dict[str, str] = params) -> None:
                        resp = await http.get(path, params=params, headers=headers)
                        assert resp.status_code == 200, resp.text
                        assert resp.json()["items"]

                    api_times, bare_times = await timed_pairs(get, sql[name], args.requests)
                    api[name], bare[name] = summary_ms(api_times), summary_ms(bare_times)
    finally:
        await conn.close()
    print(f"\n{args.months} months over {counts['leases']:,} leases, sequential requests over loopback:")
    for name in PATHS:
        ratio = api[name]["p99"] / bare[name]["p99"]
        print(f"  {name:17s} API {fmt(api[name])}   bare SQL {fmt(bare[name])}   p99 ratio {ratio:.2f}")
        ok = ratio <= AIM
        detail = (
            f"{counts['leases']:,} leases, {args.months} months: API p99 {api[name]['p99']:.0f} ms, "
            f"SQL p99 {bare[name]['p99']:.0f} ms"
        )
        print(
            "RESULT "
            + json.dumps(
                {"name": f"report {name} p99 API/SQL", "ratio": round(ratio, 3), "goal": f"<= {AIM}", "ok": ok, "detail": detail}
            ),
            flush=True,
        )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (p99 is sensitive to it)")


if __name__ == "__main__":
    os.environ.setdefault("SEATLEASE_SECRET_KEY", secrets.token_urlsafe(48))
    parser = served_bench_parser(__doc__, "bench_reports")
    parser.add_argument("--leases", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12, help="months in the range (at most 36)")
    parser.add_argument("--to", default="2026-10", help="the range's last month")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per report (p99 of 20 is their maximum)")
    serve_or_run(parser.parse_args(), main)
