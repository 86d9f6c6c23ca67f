"""The overdue list: open invoices past their due date on their site's calendar, with the days overdue,
what is still owed, the reminders sent and the next one due. One read-model for the API and the admin."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

from billing.dunning import OPEN, OUTSTANDING, TOPIC, next_step, step_of
from billing.dunning_config import DunningConfig
from domain.errors import ValidationFailed


class OverdueInvoice(BaseModel):
    invoice_id: uuid.UUID
    number: str | None
    client_id: uuid.UUID
    client_name: str
    site_id: uuid.UUID
    site_code: str
    currency: str
    issue_date: date | None
    due_date: date
    days_overdue: int = Field(description="days past the due date, on the site's calendar")
    total_minor: int
    outstanding_minor: int = Field(description="what is still owed after cleared payments, tax withheld and credit notes")
    status: str
    dunning_excluded: bool
    reminders_sent: int
    last_reminder_sent_at: datetime | None
    last_reminder_step_days: int | None = Field(description="the step of the last reminder sent (days after due)")
    next_reminder_on: date | None = Field(description="when the next reminder step falls due (none when off or excluded)")


class OverdueTotal(BaseModel):
    currency: str
    invoices: int
    outstanding_minor: int


class RemindersState(BaseModel):
    enabled: bool
    steps: list[int] = Field(description="SEATLEASE_DUNNING_DAYS: days relative to the due date")
    mail_configured: bool = Field(description="false: no SMTP settings, nothing is sent")


class OverduePage(BaseModel):
    items: list[OverdueInvoice]
    next_cursor: str | None
    totals: list[OverdueTotal] = Field(description="per currency, over every overdue invoice of the filter (not only this page)")
    reminders: RemindersState


_FROM = f"""
FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE s.timezone)::date AS today) t
CROSS JOIN LATERAL (SELECT {OUTSTANDING} AS outstanding) o
"""

_WHERE = f"""
WHERE {OPEN} AND i.due_date < t.today AND o.outstanding > 0
  AND ($2::uuid IS NULL OR i.client_id = $2) AND ($3::uuid IS NULL OR i.site_id = $3)
  AND ($4::text IS NULL OR i.currency = $4)
"""

LIST_SQL = f"""
SELECT i.id, i.number_label, i.client_id, c.legal_name, i.site_id, s.code AS site_code, i.currency, i.issue_date,
       i.due_date, (t.today - i.due_date) AS days_overdue, i.total_minor, o.outstanding, i.status, c.dunning_excluded,
       t.today, r.sent, r.last_at, r.last_key
{_FROM}
CROSS JOIN LATERAL (SELECT count(*) AS sent, max(e.sent_at) AS last_at,
                           (array_agg(e.dedupe_key ORDER BY e.sent_at DESC))[1] AS last_key
                    FROM email_outbox e WHERE e.topic = '{TOPIC}' AND e.object_id = i.id AND e.status = 'sent') r
{_WHERE}
  AND ($5::uuid IS NULL OR (i.due_date, i.id) > ((SELECT due_date FROM invoices WHERE id = $5), $5))
ORDER BY i.due_date, i.id LIMIT $6
"""

TOTALS_SQL = f"""SELECT i.currency, count(*) AS n, sum(o.outstanding)::bigint AS owed {_FROM} {_WHERE}
GROUP BY i.currency ORDER BY i.currency"""


async def overdue_page(
    conn: Any,
    config: DunningConfig,
    *,
    client_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    currency: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> OverduePage:
    now = now or datetime.now(UTC)
    try:
        after = uuid.UUID(cursor) if cursor else None
    except ValueError:
        raise ValidationFailed("not a cursor from a previous page", field="cursor") from None
    # the cursor is the last invoice of the previous page: the next starts after its (due date, id)
    rows = await conn.fetch(LIST_SQL, now, client_id, site_id, currency, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for r in rows:
        upcoming = next_step(r["due_date"], r["today"], config.steps)
        items.append(
            OverdueInvoice(
                invoice_id=r["id"],
                number=r["number_label"],
                client_id=r["client_id"],
                client_name=r["legal_name"],
                site_id=r["site_id"],
                site_code=r["site_code"],
                currency=r["currency"],
                issue_date=r["issue_date"],
                due_date=r["due_date"],
                days_overdue=r["days_overdue"],
                total_minor=r["total_minor"],
                outstanding_minor=r["outstanding"],
                status=r["status"],
                dunning_excluded=r["dunning_excluded"],
                reminders_sent=r["sent"],
                last_reminder_sent_at=r["last_at"],
                last_reminder_step_days=step_of(r["last_key"]) if r["last_key"] else None,
                next_reminder_on=upcoming[1] if upcoming and config.enabled and not r["dunning_excluded"] else None,
            )
        )
    totals = [
        OverdueTotal(currency=t["currency"], invoices=t["n"], outstanding_minor=t["owed"])
        for t in await conn.fetch(TOTALS_SQL, now, client_id, site_id, currency)
    ]
    nxt = str(rows[-1]["id"]) if more and rows else None
    state = RemindersState(enabled=config.enabled, steps=list(config.steps), mail_configured=config.mail_configured)
    return OverduePage(items=items, next_cursor=nxt, totals=totals, reminders=state)
