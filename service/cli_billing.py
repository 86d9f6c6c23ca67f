"""`seatlease billing run --period` and `seatlease statements export --period --out`: parse, call
billing's use-cases, show progress on stderr and the outcome on stdout."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from billing.drive import drive_run, queue_run_for
from billing.exports import export_statements
from billing.facts import Month
from billing.journal import invoiced_in_period
from billing.run import billable_month
from domain.errors import ValidationFailed
from domain.rules.money import format_money
from domain.services.audit import SystemActor
from service.db import engine_for, make_sessionmaker
from service.settings import get_settings

CLI = SystemActor("cli")


def _month(period: str) -> Month | None:
    try:
        return Month.parse(period)
    except ValueError:
        sys.stderr.write(f"period must be YYYY-MM, got {period!r}\n")
        return None


def billing_run_command(database_url: str, period: str) -> int:
    """Bill a month with a progress bar; resumes an unfinished run of the same month (also one a killed
    process left running). Exit code 0 on success."""
    if _month(period) is None:
        return 2
    settings = get_settings().billing()
    try:
        billable_month(period, advance_days=settings.advance_days)
    except ValidationFailed as exc:
        sys.stderr.write(f"{exc.field}: {exc.detail}\n")
        return 2

    async def main() -> int:
        engine = engine_for(database_url, get_settings(), "cli")
        maker = make_sessionmaker(engine)
        bar = tqdm(total=0, unit="client", desc=f"billing {period}", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            # queued like any run, then driven through the worker's own path: when a worker holds
            # the run, this waits for it and reports the finished run
            run_id = await queue_run_for(maker, CLI, period, advance_days=settings.advance_days)
            result = await drive_run(maker, CLI, run_id, settings, progress)
            async with maker() as session, session.begin():
                totals = await invoiced_in_period(session, result.period)
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
        # what the month's invoices add up to, one line per currency (never a sum across currencies)
        for currency, total, count in totals:
            sys.stdout.write(f"  {currency}: {count} invoice(s), {format_money(total, currency)}\n")
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
        engine = engine_for(database_url, get_settings(), "cli")
        maker = make_sessionmaker(engine)
        try:
            async with maker() as session, session.begin():
                done = await export_statements(
                    session,
                    month,
                    out,
                    progress=lambda clients: tqdm(clients, unit="client", desc=f"statements {period}", file=sys.stderr),
                    chart=get_settings().chart_of_accounts(),
                )
        finally:
            await engine.dispose()
        sys.stdout.write(f"{done.statements} statements and journal-{period}.csv ({done.journal_lines} lines) written to {out}\n")
        # one line per currency: PHP and USD are never added together
        for currency, (debits, credits) in done.totals.items():
            sign = "=" if debits == credits else "≠"
            sys.stdout.write(
                f"  {currency}: debits {format_money(debits, currency)} {sign} credits {format_money(credits, currency)}\n"
            )
        if not done.balanced:
            sys.stderr.write("the journal does not balance in every currency\n")
        return 0 if done.balanced else 1

    return asyncio.run(main())
