"""The month's statements export: every client's statement (PDF and CSV) and one journal CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing.chart import ChartOfAccounts
from billing.db import driver
from billing.facts import Month
from billing.journal import journal_csv, journal_rows, totals_by_currency
from billing.statement_render import statement_csv, statement_pdf, statement_stem
from billing.statements import statement


@dataclass(frozen=True)
class StatementsExport:
    statements: int
    journal_lines: int
    # (debits, credits) of the journal per currency, in minor units: never a sum across currencies
    totals: dict[str, tuple[int, int]]

    @property
    def balanced(self) -> bool:
        return all(debits == credits for debits, credits in self.totals.values())


async def export_statements(
    session: AsyncSession,
    month: Month,
    out: Path,
    *,
    progress: Callable[[list[Any]], Iterable[Any]] = iter,
    chart: ChartOfAccounts | None = None,
) -> StatementsExport:
    """Writes `statement-<period>-<slug of the client's name>.csv/.pdf` for every client with an issued document up to the
    month's end, and `journal-<period>.csv`. `progress` wraps the clients (the CLI's progress bar)."""
    conn = await driver(session)
    clients = await conn.fetch(
        """SELECT DISTINCT c.id, c.legal_name FROM clients c WHERE EXISTS (
             SELECT 1 FROM invoices i WHERE i.client_id = c.id AND i.status <> 'draft'
               AND i.issue_date <= $1) ORDER BY c.legal_name""",
        month.last,
    )
    taken: set[str] = set()
    for c in progress(list(clients)):
        st = await statement(conn, c["id"], month)
        stem = statement_stem(st)
        if stem in taken:  # two clients whose names make the same slug: the second one's id tells them apart
            stem = f"{stem}-{str(c['id'])[:8]}"
        taken.add(stem)
        (out / f"{stem}.csv").write_text(statement_csv(st), encoding="utf-8")
        (out / f"{stem}.pdf").write_bytes(statement_pdf(st))
    rows = await journal_rows(conn, month, chart)
    (out / f"journal-{month}.csv").write_text(journal_csv(rows), encoding="utf-8")
    return StatementsExport(
        statements=len(clients),
        journal_lines=len(rows),
        totals=totals_by_currency(rows),
    )
