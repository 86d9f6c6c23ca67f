"""Billing benchmark: a month's run at 5,000 clients / 100,000 leased seats and at twice that
(Stripe off), each beside a COPY of the same invoices and lines, then statements rendered per second.

    .venv/bin/python bench/bench_billing.py                  # 5,000 and 10,000 clients, 20 seats each
    .venv/bin/python bench/bench_billing.py --clients 500    # a quick look

Data is generated with bulk INSERT ... SELECT from generate_series into scratch databases on the
embedded PostgreSQL (DATABASE_URL's server when set); migrations are the real ones. Prints the
run time of each size beside the time to bulk-load exactly the invoices and lines that run wrote
with COPY (asyncpg copy_records_to_table, same process, same tables), the growth between the two
sizes (2.0 = linear), and statements per second for JSON, CSV and PDF beside the rate of the bare
SQL reads behind them (ratio).

Aims (issue 10): the 5,000-client run within 3x its COPY; twice the clients in at most x2.1 the
time. Each is a RESULT line (bench/run_all.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asyncpg
from common import plain_url, recreate_database, server_url, verdict

from billing.config import DEFAULT_BATCH
from billing.db import driver
from billing.facts import Month
from billing.run import create_run, execute_run
from billing.statement_render import statement_csv, statement_pdf
from billing.statements import statement
from domain.services.audit import SystemActor
from service.db import make_engine, make_sessionmaker
from service.embedded import with_database
from service.migrate import upgrade

SITES = [
    ("MNL", "Asia/Manila", "PHP", "0.12", 1_500_000),
    ("CEB", "Asia/Manila", "PHP", "0.12", 1_200_000),
    ("TYO", "Asia/Tokyo", "JPY", "0.10", 45_000),
    ("NYC", "America/New_York", "USD", "0.08875", 45_000),
    ("HNL", "Pacific/Honolulu", "USD", "0.04712", 39_900),
]

GENERATE = """
INSERT INTO sites (id, code, name, timezone, currency, tax_rate)
SELECT gen_random_uuid(), s.code, 'Site ' || s.code, s.tz, s.cur, s.rate::numeric
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS s(code, tz, cur, rate);
"""


async def generate(url: str, clients: int, seats_per_client: int, period: Month) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(GENERATE, [s[0] for s in SITES], [s[1] for s in SITES], [s[2] for s in SITES], [s[3] for s in SITES])
        sites = await conn.fetch("SELECT id, code FROM sites ORDER BY code")
        prices = {s[0]: s[4] for s in SITES}
        n_sites = len(sites)
        seats_per_site = -(-clients // n_sites) * seats_per_client
        for idx, site in enumerate(sites):
            await conn.execute(
                "INSERT INTO floors (id, site_id, name, level) VALUES (gen_random_uuid(), $1, '1F', 1)", site["id"]
            )
            await conn.execute(
                "INSERT INTO shifts (id, site_id, code, starts_at, ends_at) VALUES "
                "(gen_random_uuid(), $1, 'FULL', '00:00', '00:00')",
                site["id"],
            )
            plan = uuid.uuid4()
            await conn.execute(
                "INSERT INTO plans (id, site_id, name, monthly_price_minor, setup_fee_minor, deposit_months) "
                "VALUES ($1, $2, 'Standard seat', $3, $4, 1)",
                plan,
                site["id"],
                prices[site["code"]],
                prices[site["code"]] // 6,
            )
            await conn.execute(
                """INSERT INTO inclusions (id, plan_id, code, name, kind, billing, unit_price_minor, quantity_per_seat)
                   VALUES (gen_random_uuid(), $1, 'power', 'Power with UPS', 'power', 'included', 0, 1),
                          (gen_random_uuid(), $1, 'internet', 'Shared internet', 'internet', 'included', 0, 1),
                          (gen_random_uuid(), $1, 'pc', 'Desktop PC', 'device', 'included', 0, 1),
                          (gen_random_uuid(), $1, 'monitor', 'Extra monitor', 'device', 'monthly', $2, 1)""",
                plan,
                prices[site["code"]] // 30,
            )
            await conn.execute(
                """INSERT INTO seats (id, site_id, floor_id, zone, label, x, y)
                   SELECT gen_random_uuid(), $1, f.id, 'Z' || (g / 100), 'S-' || lpad(g::text, 6, '0'), g % 100, g / 100
                   FROM generate_series(0, $2 - 1) g, floors f WHERE f.site_id = $1""",
                site["id"],
                seats_per_site,
            )
            del idx
        await conn.execute(
            """INSERT INTO clients (id, legal_name, billing_email, payment_terms_days)
               SELECT gen_random_uuid(), 'Client ' || lpad(g::text, 6, '0'), 'ap' || g || '@client-example.com', 30
               FROM generate_series(1, $1) g""",
            clients,
        )
        await conn.execute("""INSERT INTO teams (id, client_id, name) SELECT gen_random_uuid(), id, 'Team' FROM clients""")
        # each client leases at one site (round robin); a quarter start mid-month, a tenth end this month,
        # one in eight has a discount, half have an add-on; a lease's seats are written together, as a
        # booking writes them
        await conn.execute(
            """CREATE TEMP TABLE c AS SELECT c.id, t.id AS team_id, (row_number() OVER (ORDER BY c.id)) - 1 AS n
               FROM clients c JOIN teams t ON t.client_id = c.id"""
        )
        await conn.execute(
            """CREATE TEMP TABLE s AS SELECT s.id AS site_id, row_number() OVER (ORDER BY s.code) - 1 AS k,
                      p.id AS plan_id, sh.id AS shift_id
               FROM sites s JOIN plans p ON p.site_id = s.id JOIN shifts sh ON sh.site_id = s.id"""
        )
        await conn.execute(
            """INSERT INTO leases (id, client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date,
                                   status, discount_pct, monthly_price_minor, setup_fee_minor, deposit_months)
               SELECT gen_random_uuid(), c.id, c.team_id, s.site_id, s.plan_id, s.shift_id, 'FULL',
                      CASE WHEN c.n % 4 = 0 THEN $2::date + 14 ELSE $2::date - 40 END,
                      CASE WHEN c.n % 10 = 0 THEN $3::date - 5 END,
                      'active', CASE WHEN c.n % 8 = 0 THEN 5 ELSE 0 END, p.monthly_price_minor, p.setup_fee_minor,
                      p.deposit_months
               FROM c JOIN s ON s.k = c.n % $1 JOIN plans p ON p.id = s.plan_id""",
            n_sites,
            period.first,
            period.last,
        )
        await conn.execute(
            """INSERT INTO lease_seats (id, lease_id, seat_id, start_date, end_date, window_start_min, window_end_min)
               SELECT gen_random_uuid(), l.id, se.id,
                      CASE WHEN j.j % 10 = 9 THEN greatest(l.start_date, $2::date + 9) ELSE l.start_date END,
                      l.end_date, 0, 0
               FROM (SELECT l.*, row_number() OVER (PARTITION BY l.site_id ORDER BY l.id) - 1 AS r FROM leases l) l
               CROSS JOIN generate_series(0, $1 - 1) AS j(j)
               JOIN seats se ON se.site_id = l.site_id AND se.label = 'S-' || lpad((l.r * $1 + j.j)::text, 6, '0')
               ORDER BY l.id, j.j""",
            seats_per_client,
            period.first,
        )
        await conn.execute(
            """INSERT INTO lease_add_ons (id, lease_id, inclusion_id, quantity, unit_price_minor)
               SELECT gen_random_uuid(), l.id, i.id, 2, i.unit_price_minor
               FROM leases l JOIN inclusions i ON i.plan_id = l.plan_id
               WHERE i.code = 'monitor' AND get_byte(uuid_send(l.id), 0) % 2 = 0"""
        )
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a database that has lived a month
    finally:
        await conn.close()


async def copy_baseline(url: str, run_id: uuid.UUID, repeats: int = 3) -> tuple[float, int, int]:
    """The floor under the run: COPY of exactly the invoices and lines the run wrote (the same rows,
    read back), into the same tables with their indexes, keys and constraints, emptied by a TRUNCATE
    inside the transaction that is rolled back afterwards. The median of `repeats`: the run is
    measured once, and the machine is shared."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        invoices = await conn.fetch("SELECT * FROM invoices WHERE billing_run_id = $1", run_id)
        lines = await conn.fetch(
            "SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.billing_run_id = $1", run_id
        )
        inv_cols, line_cols = list(invoices[0].keys()), list(lines[0].keys())
        inv_rows, line_rows = [tuple(r.values()) for r in invoices], [tuple(r.values()) for r in lines]
        times = []
        for _ in range(repeats):
            tr = conn.transaction()
            await tr.start()
            try:
                await conn.execute("TRUNCATE invoice_lines, invoices CASCADE")
                t0 = time.perf_counter()
                await conn.copy_records_to_table("invoices", records=inv_rows, columns=inv_cols)
                await conn.copy_records_to_table("invoice_lines", records=line_rows, columns=line_cols)
                times.append(time.perf_counter() - t0)
            finally:
                await tr.rollback()
        return statistics.median(times), len(inv_rows), len(line_rows)
    finally:
        await conn.close()


@dataclass
class Size:
    """One size's measurements: each repetition bills a fresh copy of the same generated database."""

    clients: int
    seats: int
    template: str
    runs: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    copies: list[float] = field(default_factory=list)
    invoices: int = 0
    lines: int = 0
    url: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def copy_seconds(self) -> float:
        return statistics.median(self.copies)


async def prepare(server: str, clients: int, seats_per_client: int, period: Month) -> Size:
    """Generate the size's data once, into a template database each repetition is copied from."""
    name = f"bench_billing_{clients}_template"
    url = await recreate_database(server, name)
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    await generate(url, clients, seats_per_client, period)
    conn = await asyncpg.connect(plain_url(url))
    seats = await conn.fetchval("SELECT count(*) FROM lease_seats")
    await conn.close()
    print(f"  {clients:,} clients, {seats:,} leased seats generated in {time.perf_counter() - t0:.1f} s")
    return Size(clients, int(seats), name)


async def measure(server: str, size: Size, period: Month, batch: int) -> None:
    """One repetition: a fresh copy of the size's database, its billing run, then the COPY floor."""
    name = f"bench_billing_{size.clients}"
    conn = await asyncpg.connect(plain_url(with_database(server, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{size.template}"')
    finally:
        await conn.close()
    url = size.url = with_database(server, name)
    engine = make_engine(url, pool_size=4)
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        run = await create_run(session, SystemActor("bench"), str(period), advance_days=0)
    t0, c0 = time.perf_counter(), time.process_time()
    result = await execute_run(maker, run.id, batch_size=batch)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    await engine.dispose()
    copy_s, n_inv, n_lines = await copy_baseline(url, run.id)
    assert n_inv == result.invoices_created, (n_inv, result.invoices_created)
    size.runs.append(elapsed)
    size.cpus.append(cpu)
    size.copies.append(copy_s)
    size.invoices, size.lines = n_inv, n_lines
    print(
        f"  {size.clients:,} clients: run {elapsed:.2f} s wall ({cpu:.2f} s CPU in this process), "
        f"{n_inv:,} invoices ({n_lines:,} lines), {n_inv / elapsed:,.0f} invoices/s; "
        f"COPY of the same rows {copy_s:.2f} s (run / COPY = {elapsed / copy_s:.2f})"
    )


async def bench_statements(url: str, period: Month, count: int) -> None:
    engine = make_engine(url, pool_size=2)
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        conn = await driver(session)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM clients ORDER BY legal_name LIMIT $1", count)]
        t0 = time.perf_counter()
        for cid in ids:
            await conn.fetch("SELECT * FROM invoices WHERE client_id = $1", cid)
            await conn.fetch("SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.client_id = $1", cid)
        bare = len(ids) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        sts = [await statement(conn, cid, period) for cid in ids]
        json_rate = len(ids) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for st in sts:
            statement_csv(st)
        csv_rate = len(ids) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for st in sts:
            statement_pdf(st)
        pdf_rate = len(ids) / (time.perf_counter() - t0)
    await engine.dispose()
    print(
        f"statements ({len(ids)} clients): data (JSON) {json_rate:,.0f}/s, CSV {csv_rate:,.0f}/s on top, "
        f"PDF {pdf_rate:,.1f}/s on top; bare SQL reads {bare:,.0f}/s (JSON / bare = {json_rate / bare:.2f})"
    )
    print(f"statements end to end (data + CSV + PDF): {1 / (1 / json_rate + 1 / csv_rate + 1 / pdf_rate):,.1f}/s")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--seats-per-client", type=int, default=20)
    ap.add_argument("--period", default="2026-03")
    ap.add_argument("--statements", type=int, default=300, help="statements to render (0: none)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each size (medians are reported)")
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="clients per transaction of the run")
    args = ap.parse_args()
    period = Month.parse(args.period)
    server = server_url()
    print(f"billing run, Stripe off, period {period}")
    small = await prepare(server, args.clients, args.seats_per_client, period)
    big = await prepare(server, args.clients * 2, args.seats_per_client, period)
    # the sizes alternate, so that a busy spell of the machine weighs on both alike; medians
    for _ in range(args.repeat):
        await measure(server, small, period, args.batch)
        await measure(server, big, period, args.batch)
    growth = big.seconds / small.seconds
    print(
        f"medians of {args.repeat}: run {small.seconds:.2f} s / {big.seconds:.2f} s, COPY {small.copy_seconds:.2f} s / "
        f"{big.copy_seconds:.2f} s, CPU in this process {small.cpu:.2f} s / {big.cpu:.2f} s"
    )
    print(
        f"size x{big.seats / small.seats:.2f} -> wall time x{growth:.2f}, CPU time x{big.cpu / small.cpu:.2f}, "
        f"COPY x{big.copy_seconds / small.copy_seconds:.2f} (2.00 = linear; CPU time is steadier on a shared machine)"
    )
    vs_copy = small.seconds / small.copy_seconds
    print(f"aim (issue 10): the {small.clients:,}-client run within 3x its COPY: x{vs_copy:.2f}, {verdict(vs_copy <= 3)}")
    print(f"aim (issue 10): twice the clients in at most x2.1 the time: x{growth:.2f}, {verdict(growth <= 2.1)}")
    result(
        "billing run / COPY",
        vs_copy,
        "<= 3",
        f"{small.clients:,} clients: run {small.seconds:.2f} s, COPY of its {small.invoices:,} invoices and "
        f"{small.lines:,} lines {small.copy_seconds:.2f} s (medians of {args.repeat})",
    )
    result(
        "billing growth x2 clients",
        growth,
        "<= 2.1",
        f"run {small.seconds:.2f} s at {small.clients:,} clients, {big.seconds:.2f} s at {big.clients:,}",
    )
    if args.statements:
        await bench_statements(small.url, period, args.statements)


def result(name: str, ratio: float, goal: str, detail: str) -> None:
    """One line of the benchmark protocol (bench/run_all.py reads it)."""
    bound = float(goal.split()[1])
    ok = ratio <= bound if goal.startswith("<=") else ratio >= bound
    print("RESULT " + json.dumps({"name": name, "ratio": round(ratio, 3), "goal": goal, "ok": ok, "detail": detail}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
