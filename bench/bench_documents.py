"""Documents benchmark (issue 12): a month's statements and invoice PDFs for 5,000 clients, documents
per second, beside the bare render of the same content measured in the same run.

    .venv/bin/python bench/bench_documents.py                  # 5,000 clients, 20 seats each
    .venv/bin/python bench/bench_documents.py --clients 200    # a quick look

The data is bench/bench_billing.py's (bulk SQL on the embedded PostgreSQL, the real migrations),
billed by a real run (Stripe off); then money arrives for most invoices (a cleared payment each,
5% tax withheld at the PHP sites, a tenth paid in part). What is timed, for every client:

- **ours**: the path the API, the admin and `statements export` take — the statement's queries
  (billing/statements.py), its CSV and PDF, then each invoice's queries and PDF
  (billing/invoice_doc.py `invoice_pdf`'s data and render), one after the other in one process;
- **baseline: the bare render**: reportlab drawing exactly the same documents from data already in
  memory (no query at all), the same statement CSV/PDF and invoice PDF functions;
- the same SQL alone (the statement's and the invoices' queries, no rendering), for the record.

RESULT lines: documents per second (info), and ours / bare render (the share our queries add).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import asyncpg
from bench_billing import generate
from common import plain_url, recreate_database, server_url

from billing.db import driver
from billing.facts import Month
from billing.invoice_doc import InvoiceDoc, invoice_doc, render_invoice
from billing.run import create_run, execute_run
from billing.statement_render import statement_csv, statement_pdf
from billing.statements import statement
from domain.services.audit import SystemActor
from service.db import make_engine, make_sessionmaker
from service.migrate import upgrade

ISSUERS = """
UPDATE sites SET legal_name = 'Seatlease ' || code || ' Holdings, Inc.',
       address = '12F Tower One, Ayala Avenue' || chr(10) || 'Makati City 1226',
       tax_id = '009-876-543-' || lpad((ascii(code) % 1000)::text, 3, '0'), invoice_footer = 'BIR Permit No. 0420-116-00042'
"""

# most invoices are paid in the month: in full (net of 5% withheld at the PHP sites), a tenth in part
PAYMENTS = """
CREATE TEMP TABLE paid AS
SELECT gen_random_uuid() AS pid, i.id AS invoice_id, i.client_id, i.currency,
       CASE WHEN i.currency = 'PHP' THEN i.total_minor * 5 / 100 ELSE 0 END AS withheld,
       CASE WHEN n % 10 = 0 THEN i.total_minor / 2 ELSE i.total_minor END AS due
FROM (SELECT i.*, row_number() OVER (ORDER BY i.id) AS n FROM invoices i WHERE i.status = 'issued') i
WHERE n % 5 <> 0 AND i.total_minor > 0;
INSERT INTO payments (id, client_id, amount_minor, currency, paid_on, method, status, reference, received_on)
SELECT pid, client_id, due - withheld, currency, $1::date + 14, 'bank_transfer', 'cleared', 'BANK-' || left(pid::text, 8),
       $1::date + 14
FROM paid WHERE due - withheld > 0;
INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor, withheld_minor, allocated_on)
SELECT pid, invoice_id, due - withheld, withheld, $1::date + 14 FROM paid WHERE due - withheld > 0;
"""


async def prepare(server: str, clients: int, seats_per_client: int, period: Month) -> str:
    url = await recreate_database(server, f"bench_documents_{clients}")
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    await generate(url, clients, seats_per_client, period)
    engine = make_engine(url, pool_size=4)
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        run = await create_run(session, SystemActor("bench"), str(period), advance_days=0)
    await execute_run(maker, run.id)
    await engine.dispose()
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(ISSUERS)
        for stmt in PAYMENTS.split(";\n"):
            if stmt.strip():
                await (conn.execute(stmt, period.first) if "$1" in stmt else conn.execute(stmt))
        await conn.execute("VACUUM ANALYZE")
        n = await conn.fetchval("SELECT count(*) FROM invoices")
    finally:
        await conn.close()
    print(f"  {clients:,} clients, {n:,} invoices billed and paid in {time.perf_counter() - t0:.1f} s")
    return url


async def month_documents(conn: Any, period: Month, sample: int) -> tuple[list[uuid.UUID], dict[uuid.UUID, list[uuid.UUID]]]:
    """The clients (all, or the first `sample`) and their invoices of the month."""
    clients = [r["id"] for r in await conn.fetch("SELECT id FROM clients ORDER BY legal_name LIMIT $1", sample or None)]
    invoices_of: dict[uuid.UUID, list[uuid.UUID]] = {c: [] for c in clients}
    for r in await conn.fetch(
        "SELECT id, client_id FROM invoices WHERE client_id = ANY($1::uuid[]) AND period = $2 AND status <> 'draft'",
        clients,
        str(period),
    ):
        invoices_of[r["client_id"]].append(r["id"])
    return clients, invoices_of


async def alternate(passes: dict[str, Callable[[], Awaitable[None]]], repeat: int) -> dict[str, list[float]]:
    """Each pass `repeat` times, taking turns, so that a busy spell of the shared machine weighs on each alike."""
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeat):
        for name, work in passes.items():
            gc.collect()
            t0 = time.perf_counter()
            await work()
            times[name].append(time.perf_counter() - t0)
    return times


async def bench(url: str, period: Month, sample: int, repeat: int) -> None:
    engine = make_engine(url, pool_size=2)
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        conn = await driver(session)
        clients, invoices_of = await month_documents(conn, period, sample)
        n_inv = sum(len(v) for v in invoices_of.values())

        statements: list[dict[str, Any]] = []
        invoice_data: list[InvoiceDoc] = []

        async def ours_pass() -> None:
            """Queries and rendering, document after document, as the edges do."""
            statements.clear()
            invoice_data.clear()
            for cid in clients:
                st = await statement(conn, cid, period)
                statement_csv(st)
                statement_pdf(st)
                statements.append(st)
                for iid in invoices_of[cid]:
                    doc = await invoice_doc(conn, iid)
                    render_invoice(doc)
                    invoice_data.append(doc)

        async def bare_pass() -> None:
            """The bare render of the same content, from memory."""
            for st in statements:
                statement_csv(st)
                statement_pdf(st)
            for doc in invoice_data:
                render_invoice(doc)

        async def sql_pass() -> None:
            for cid in clients:
                await statement(conn, cid, period)
                for iid in invoices_of[cid]:
                    await invoice_doc(conn, iid)

        # warm up (reportlab's imports and font metrics, the statements' prepared queries) before any timing
        for cid in clients[:3]:
            statement_pdf(await statement(conn, cid, period))
            for iid in invoices_of[cid]:
                render_invoice(await invoice_doc(conn, iid))
        times = await alternate({"ours": ours_pass, "bare": bare_pass, "sql": sql_pass}, repeat)
        ours, bare, sql = (statistics.median(times[k]) for k in ("ours", "bare", "sql"))
        print("  passes (s): " + ", ".join(f"{k} {' / '.join(f'{t:.1f}' for t in v)}" for k, v in times.items()))
    await engine.dispose()
    report(len(clients), n_inv, statements, ours, bare, sql, repeat)


def report(n_st: int, n_inv: int, statements: list[dict[str, Any]], ours: float, bare: float, sql: float, repeat: int) -> None:
    docs = n_st + n_inv
    with_payments = sum(1 for st in statements for s in st["currencies"] if s["payments"])
    pages = "statements and invoices"
    print(f"{n_st:,} statements (CSV + PDF; {with_payments:,} with payments) and {n_inv:,} invoice PDFs")
    print(f"  = {docs:,} documents, medians of {repeat} passes")
    print(f"  ours (queries + render): {ours:.1f} s = {docs / ours:,.1f} documents/s")
    print(f"  baseline, bare render of the same {pages} from memory: {bare:.1f} s = {docs / bare:,.1f} documents/s")
    print(f"  the same SQL alone: {sql:.1f} s = {docs / sql:,.0f} documents/s")
    print(f"  ours / bare render = {ours / bare:.2f} (what our queries add to drawing the documents)")
    result("documents per second (statements + invoice PDFs)", docs / ours, "info", f"{docs:,} documents in {ours:.1f} s")
    result(
        "documents: ours / bare render",
        ours / bare,
        "<= 1.5",
        f"ours {docs / ours:,.1f}/s, bare reportlab render of the same content {docs / bare:,.1f}/s, "
        f"SQL alone {docs / sql:,.0f}/s",
    )


def result(name: str, ratio: float, goal: str, detail: str) -> None:
    """One line of the benchmark protocol (bench/run_all.py reads it)."""
    ok = True
    if goal != "info":
        bound = float(goal.split()[1])
        ok = ratio <= bound if goal.startswith("<=") else ratio >= bound
    print("RESULT " + json.dumps({"name": name, "ratio": round(ratio, 3), "goal": goal, "ok": ok, "detail": detail}), flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--seats-per-client", type=int, default=20)
    ap.add_argument("--period", default="2026-03")
    ap.add_argument("--repeat", type=int, default=3, help="passes of each measure (medians are reported)")
    ap.add_argument("--sample", type=int, default=0, help="documents of this many clients only (0: every client)")
    args = ap.parse_args()
    period = Month.parse(args.period)
    print(f"documents of {period}: statements and invoice PDFs")
    url = await prepare(server_url(), args.clients, args.seats_per_client, period)
    await bench(url, period, args.sample, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
