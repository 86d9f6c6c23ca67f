"""Payment reminders (dunning): the worker's pass that queues, for each open invoice, the reminder step
now due (SEATLEASE_DUNNING_DAYS: days relative to the due date, on the site's calendar) by email to the
client's billing contact with the invoice's PDF, through the outbox (domain/services/mail.py).

- Stopped by payment: an invoice paid (status) or settled by its allocations and credit notes gets
  no further reminder; a partially paid one does, for what is left. A reminder queued but not yet sent
  when the invoice is settled (or the client excluded) is withdrawn from the outbox.
- Never twice: one outbox message per invoice and step (``dunning:<invoice>:<step>``, a unique key),
  queued under the invoice's row lock (FOR UPDATE SKIP LOCKED: a concurrent pass skips it).
- A late pass (a worker down for a week) sends only the latest step due, never a burst of old ones.
- Without SMTP settings nothing is queued: setting them later delivers the step due then, not a backlog.
- A client with ``dunning_excluded`` gets none."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.db import driver
from billing.dunning_config import DunningConfig
from billing.invoice_doc import invoice_pdf
from domain.rules.money import format_money
from domain.services import mail
from domain.services.audit import Actor, SystemActor, record

TOPIC = "dunning"

# what an invoice still owes now: every issued credit note and every cleared allocation (with the tax
# withheld) counts, whatever its date: money recorded is never chased
OUTSTANDING = """(i.total_minor
   - coalesce((SELECT sum(cn.total_minor) FROM credit_notes cn WHERE cn.invoice_id = i.id AND cn.status = 'issued'), 0)
   - coalesce((SELECT sum(a.amount_minor + a.withheld_minor) FROM payment_allocations a
               JOIN payments p ON p.id = a.payment_id WHERE a.invoice_id = i.id AND p.status = 'cleared'), 0))::bigint"""

OPEN = "i.status IN ('issued', 'partially_paid') AND i.due_date IS NOT NULL"

# the latest step due today (site calendar) of each open invoice of a client not excluded, when its
# reminder was never queued; a step before the due date is not sent once the date has passed
DUE_SQL = f"""
SELECT i.id, step FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE s.timezone)::date AS today) t
CROSS JOIN LATERAL (SELECT max(d) AS step FROM unnest($2::int[]) d
                    WHERE i.due_date + d <= t.today AND (d >= 0 OR t.today <= i.due_date)) st
WHERE {OPEN} AND NOT c.dunning_excluded AND c.billing_email <> '' AND step IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM email_outbox e WHERE e.dedupe_key = 'dunning:' || i.id || ':' || step)
  AND {OUTSTANDING} > 0
ORDER BY i.due_date, i.id LIMIT $3
"""

# one invoice, locked (a concurrent pass, or a payment being recorded, has it: skipped this time)
LOCK_SQL = f"""
SELECT i.id, i.client_id, i.number_label, i.currency, i.total_minor, i.due_date, i.status, {OUTSTANDING} AS outstanding,
       ($2::timestamptz AT TIME ZONE s.timezone)::date AS today, s.name AS site_name, s.legal_name AS site_legal_name,
       c.legal_name, c.billing_email, c.dunning_excluded
FROM invoices i JOIN sites s ON s.id = i.site_id JOIN clients c ON c.id = i.client_id
WHERE i.id = $1 AND {OPEN} FOR UPDATE OF i SKIP LOCKED
"""

# queued reminders that must not go out any more: the invoice settled, voided, or its client excluded
WITHDRAW_SQL = f"""
DELETE FROM email_outbox WHERE id IN (
  SELECT e.id FROM email_outbox e JOIN invoices i ON i.id = e.object_id JOIN clients c ON c.id = i.client_id
  WHERE e.topic = 'dunning' AND e.status = 'pending'
    AND (NOT ({OPEN}) OR c.dunning_excluded OR {OUTSTANDING} <= 0)
  FOR UPDATE OF e SKIP LOCKED)
RETURNING id, object_id, client_id, dedupe_key
"""


@dataclass(frozen=True)
class ReminderStep:
    days: int

    def describe(self) -> str:
        if self.days < 0:
            return f"{-self.days} day(s) before due"
        if self.days == 0:
            return "on the due date"
        return f"{self.days} day(s) overdue"


def dedupe_key(invoice_id: uuid.UUID, step: int) -> str:
    return f"{TOPIC}:{invoice_id}:{step}"


def step_of(key: str) -> int | None:
    """The step of a reminder's dedupe key (``dunning:<invoice>:<step>``)."""
    try:
        return int(key.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _subject(inv: Any, step: int) -> str:
    label = inv["number_label"]
    if step < 0:
        return f"Reminder: invoice {label} is due on {inv['due_date']:%d %b %Y}"
    if step == 0:
        return f"Invoice {label} is due today"
    return f"Overdue: invoice {label} is {(inv['today'] - inv['due_date']).days} days past due"


def _body(inv: Any, step: int) -> str:
    cur = inv["currency"]
    issuer = inv["site_legal_name"] or inv["site_name"]
    partly = inv["outstanding"] < inv["total_minor"]
    lines = [f"Dear {inv['legal_name']},", ""]
    if step < 0:
        lines.append(f"This is a friendly reminder that invoice {inv['number_label']} is due on {inv['due_date']:%d %B %Y}.")
    else:
        days = (inv["today"] - inv["due_date"]).days
        when = "today" if days <= 0 else f"on {inv['due_date']:%d %B %Y}, {days} days ago"
        lines.append(f"Our records show that invoice {inv['number_label']} was due {when} and is not fully paid.")
    lines += [
        "",
        f"Invoice total:      {format_money(inv['total_minor'], cur)}",
        *([f"Paid or credited:   {format_money(inv['total_minor'] - inv['outstanding'], cur)}"] if partly else []),
        f"Amount outstanding: {format_money(inv['outstanding'], cur)}",
        "",
        f"Please quote {inv['number_label']} with your payment. The invoice is attached.",
        "If you have paid in the meantime, thank you, and please disregard this reminder.",
        "",
        issuer,
    ]
    return "\n".join(lines) + "\n"


async def _remind_one(session: AsyncSession, actor: Actor, invoice_id: uuid.UUID, step: int, now: datetime) -> bool:
    """Queue one invoice's reminder for `step` under its row lock; False when it was skipped (locked,
    settled, excluded, already queued)."""
    conn = await driver(session)
    inv = await conn.fetchrow(LOCK_SQL, invoice_id, now)
    if inv is None or inv["outstanding"] <= 0 or inv["dunning_excluded"] or not inv["billing_email"]:
        return False
    filename, pdf = await invoice_pdf(conn, invoice_id)
    row, new = await mail.queue_email(
        session,
        to=[inv["billing_email"]],
        subject=_subject(inv, step),
        body=_body(inv, step),
        dedupe_key=dedupe_key(invoice_id, step),
        topic=TOPIC,
        client_id=inv["client_id"],
        object_id=invoice_id,
        attachments=[mail.Attachment(filename, "application/pdf", pdf)],
        created_by=actor.subject,
    )
    if not new:
        return False
    await record(
        session,
        actor,
        "invoice.reminder_queued",
        "invoice",
        invoice_id,
        after={
            "email_id": row.id,
            "step_days": step,
            "to": [inv["billing_email"]],
            "outstanding_minor": inv["outstanding"],
            "currency": inv["currency"],
        },
        client_id=inv["client_id"],
    )
    return True


async def withdraw_stale(session: AsyncSession, actor: Actor) -> int:
    """Queued, unsent reminders of invoices settled, voided or of an excluded client leave the outbox
    (one a sender holds right now is skipped: it is being sent)."""
    conn = await driver(session)
    rows = await conn.fetch(WITHDRAW_SQL)
    for r in rows:
        await record(
            session,
            actor,
            "invoice.reminder_withdrawn",
            "invoice",
            r["object_id"],
            after={"email_id": r["id"], "step_days": step_of(r["dedupe_key"])},
            client_id=r["client_id"],
        )
    return len(rows)


async def remind_due(
    maker: async_sessionmaker[AsyncSession], config: DunningConfig, *, now: datetime | None = None, max_batches: int = 20
) -> dict[str, Any]:
    """The worker's pass: withdraw stale reminders, then queue the reminders due now, one invoice per
    transaction (a crash loses nothing; two passes at once queue each reminder once)."""
    if not config.steps:
        return {"skipped": "SEATLEASE_DUNNING_DAYS is off", "queued": 0}
    if not config.mail_configured:
        return {"skipped": "SEATLEASE_SMTP_HOST and SEATLEASE_SMTP_FROM are not both set", "queued": 0}
    now = now or datetime.now(UTC)
    actor = SystemActor("worker")
    async with maker() as session, session.begin():
        withdrawn = await withdraw_stale(session, actor)
    queued = skipped = 0
    for _ in range(max_batches):
        async with maker() as session, session.begin():
            due = await (await driver(session)).fetch(DUE_SQL, now, list(config.steps), config.batch_size)
        if not due:
            break
        progressed = False
        for d in due:
            async with maker() as session, session.begin():
                if await _remind_one(session, actor, d["id"], d["step"], now):
                    queued += 1
                    progressed = True
                else:
                    skipped += 1
        if not progressed or len(due) < config.batch_size:
            break
    return {"queued": queued, "skipped": skipped, "withdrawn": withdrawn}


def next_step(due: date, today: date, steps: tuple[int, ...]) -> tuple[int, date] | None:
    """The next reminder step after today, and its day."""
    for s in steps:
        if due + timedelta(days=s) > today:
            return s, due + timedelta(days=s)
    return None
