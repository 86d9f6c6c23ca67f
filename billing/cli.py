"""CLI glue: `seatlease billing run --period` and `seatlease statements export --period --out`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tqdm import tqdm

from billing.calc import Month
from billing.db import driver
from billing.run import DEFAULT_BATCH, billable_month, execute_run, open_run_for
from billing.statements import journal_csv, journal_rows, statement, statement_csv, statement_pdf
from domain.errors import ValidationFailed
from domain.services.audit import SystemActor
from service.db import make_engine, make_sessionmaker
from service.embedded import to_async_url
from service.settings import get_settings


def _month(period: str) -> Month | None:
    try:
        return Month.parse(period)
    except ValueError:
        sys.stderr.write(f"period must be YYYY-MM, got {period!r}\n")
        return None


def billing_run_command(database_url: str, period: str) -> int:
    """Bill a month with a progress bar; resumes an unfinished run of the same month. Exit code 0 on success."""
    if _month(period) is None:
        return 2
    settings = get_settings()
    try:
        billable_month(period, advance_days=settings.billing_advance_days)
    except ValidationFailed as exc:
        sys.stderr.write(f"{exc.field}: {exc.detail}\n")
        return 2
    batch = int(os.environ.get("SEATLEASE_BILLING_BATCH", DEFAULT_BATCH))
    # a pause between batches lets a busy database breathe (and lets tests stop a run half-way)
    pause = float(os.environ.get("SEATLEASE_BILLING_PAUSE", "0"))

    async def main() -> int:
        engine = make_engine(to_async_url(database_url), pool_size=2)
        maker = make_sessionmaker(engine)
        bar = tqdm(total=0, unit="client", desc=f"billing {period}", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            run_id = await open_run_for(maker, SystemActor("cli"), period, advance_days=settings.billing_advance_days)
            result = await execute_run(
                maker,
                run_id,
                batch_size=batch,
                progress=progress,
                pause_seconds=pause,
                credit_threshold=settings.credit_note_approval_threshold_minor,
            )
        except Exception as exc:
            bar.close()
            sys.stderr.write(f"billing run failed: {type(exc).__name__}: {exc}\n")
            return 1
        finally:
            await engine.dispose()
        bar.close()
        sys.stdout.write(
            f"billing run {result.run_id} for {result.period}: {result.status}; clients {result.clients_done}/"
            f"{result.clients_total}; invoices created now {result.invoices_created}, for the month "
            f"{result.invoices_count}; credit notes {result.credit_notes_created}\n"
        )
        return 0

    return asyncio.run(main())


def statements_export_command(database_url: str, period: str, out_dir: str) -> int:
    """Every client's statement (PDF and CSV) of the month, plus one journal CSV that balances to zero."""
    month = _month(period)
    if month is None:
        return 2
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    async def main() -> int:
        engine = make_engine(to_async_url(database_url), pool_size=2)
        maker = make_sessionmaker(engine)
        try:
            async with maker() as session, session.begin():
                conn = await driver(session)
                clients = await conn.fetch(
                    """SELECT DISTINCT c.id, c.legal_name FROM clients c WHERE EXISTS (
                         SELECT 1 FROM invoices i WHERE i.client_id = c.id AND i.status <> 'draft'
                           AND i.issue_date <= $1) ORDER BY c.legal_name""",
                    month.last,
                )
                for c in tqdm(clients, unit="client", desc=f"statements {period}", file=sys.stderr):
                    st = await statement(conn, c["id"], month)
                    stem = f"statement-{period}-{c['id']}"
                    (out / f"{stem}.csv").write_text(statement_csv(st), encoding="utf-8")
                    (out / f"{stem}.pdf").write_bytes(statement_pdf(st))
                rows = await journal_rows(conn, month)
                (out / f"journal-{period}.csv").write_text(journal_csv(rows), encoding="utf-8")
        finally:
            await engine.dispose()
        debit = sum(r[4] for r in rows)
        credit = sum(r[5] for r in rows)
        sys.stdout.write(
            f"{len(clients)} statements and journal-{period}.csv ({len(rows)} lines, debits {debit} = "
            f"credits {credit}) written to {out}\n"
        )
        return 0 if debit == credit else 1

    return asyncio.run(main())
