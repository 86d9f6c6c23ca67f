"""invoice.overdue (issue 14): the day an issued invoice passes its due date unpaid, once per invoice.

Nothing changes an invoice's state when it falls due, so this worker pass is the change: it marks
each newly overdue invoice in `invoice_overdue_marks` (unique per invoice: two passes at once mark
it once) and records the `invoice.overdue` audit event in the same transaction, from which the
webhook outbox's trigger makes the event (domain/webhooks/catalog.py). "Overdue" is the overdue
list's rule (billing/overdue.py): open, past its due date on its site's calendar, something owed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.db import driver
from billing.dunning import OPEN, OUTSTANDING
from domain.services.audit import AuditEntry, SystemActor, record_many

MARK_SQL = f"""
WITH due AS (
    SELECT i.id, i.client_id, i.number_label, i.currency, i.due_date, (t.today - i.due_date) AS days_overdue,
           {OUTSTANDING} AS outstanding
    FROM invoices i JOIN sites s ON s.id = i.site_id
    CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE s.timezone)::date AS today) t
    WHERE {OPEN} AND i.due_date < t.today
      AND NOT EXISTS (SELECT 1 FROM invoice_overdue_marks m WHERE m.invoice_id = i.id)
      AND {OUTSTANDING} > 0
    ORDER BY i.due_date, i.id
    LIMIT $2
), marked AS (
    INSERT INTO invoice_overdue_marks (invoice_id) SELECT id FROM due ON CONFLICT DO NOTHING RETURNING invoice_id
)
SELECT d.* FROM due d JOIN marked m ON m.invoice_id = d.id ORDER BY d.due_date, d.id
"""


async def mark_overdue(
    maker: async_sessionmaker[AsyncSession], *, now: datetime | None = None, batch_size: int = 500, max_batches: int = 20
) -> dict[str, Any]:
    """The worker's pass: each newly overdue invoice marked and its audit event recorded, a batch per transaction."""
    now = now or datetime.now(UTC)
    actor = SystemActor("worker")
    marked = 0
    for _ in range(max_batches):
        async with maker() as session, session.begin():
            rows = await (await driver(session)).fetch(MARK_SQL, now, batch_size)
            entries = [
                AuditEntry(
                    "invoice.overdue",
                    "invoice",
                    r["id"],
                    after={
                        "number": r["number_label"],
                        "due_date": r["due_date"],
                        "days_overdue": r["days_overdue"],
                        "currency": r["currency"],
                        "outstanding_minor": r["outstanding"],
                    },
                    client_id=r["client_id"],
                )
                for r in rows
            ]
            await record_many(session, actor, entries)
        marked += len(rows)
        if len(rows) < batch_size:
            break
    return {"marked": marked}
