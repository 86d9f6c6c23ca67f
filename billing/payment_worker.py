"""The payments part of the worker (issue 12), each step its own transaction:

- post-dated cheques reaching their date are cleared, exactly once (the claim is FOR UPDATE SKIP
  LOCKED and the update is conditional on `held`), audited, and the invoices they pay settled;
- a client's credit balance is applied to its open invoices of that currency, oldest due first
  (automatic: credit left from an overpayment pays the next invoice without finance's help);
- an invoice living in Stripe and settled here is marked paid out of band in Stripe
  (`stripe.Invoice.pay(paid_out_of_band=True)`), from `stripe_payment_syncs` rows with back-off,
  like the invoice push of billing/worker.py."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.db import driver
from billing.payment_schemas import CreditApply
from billing.payments import apply_credit
from billing.settlement import audit, figures, lock_client_credit, settle_invoice
from billing.stripe_gateway import StripeGateway, is_retryable
from domain.rules.timezones import local_day
from domain.services.audit import SystemActor

logger = logging.getLogger("seatlease.billing")
ACTOR = SystemActor("worker")
BATCH = 50
MAX_BACKOFF_SECONDS = 3600

CLAIM_HELD = """
SELECT p.id, p.client_id, p.paid_on FROM payments p
WHERE p.status = 'held' AND NOT (p.id = ANY($1::uuid[]))
  AND p.paid_on <= coalesce((SELECT u.today FROM unnest($2::text[], $3::date[]) AS u(currency, today)
                             WHERE u.currency = p.currency), (now() AT TIME ZONE 'UTC')::date)
ORDER BY p.paid_on, p.id LIMIT 1 FOR UPDATE SKIP LOCKED
"""


async def _todays(conn: Any) -> tuple[list[str], list[date]]:
    """Per currency, the latest today among the sites billing in it. Worked out here, not in SQL: a
    site whose stored time zone is not a real one (old data) is skipped, never stops every client's
    cheques from clearing (the lease passes report such a site)."""
    latest: dict[str, date] = {}
    now = datetime.now(UTC)
    for r in await conn.fetch("SELECT DISTINCT currency, timezone FROM sites"):
        try:
            day = local_day(now, r["timezone"])
        except (ValueError, KeyError, ZoneInfoNotFoundError):
            continue
        latest[r["currency"]] = max(day, latest.get(r["currency"], day))
    return list(latest), list(latest.values())


async def clear_next_cheque(maker: async_sessionmaker[AsyncSession], skip: set[Any]) -> str | None:
    """Clear one held payment whose date has come. None when none is due."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        row = await conn.fetchrow(CLAIM_HELD, list(skip), *await _todays(conn))
        if row is None:
            return None
        if not await lock_client_credit(conn, row["client_id"], wait=False):
            skip.add(row["id"])  # a payment of this client is being recorded: the next pass clears it
            return "later"
        allocations = await conn.fetch(
            "SELECT id, invoice_id, amount_minor, withheld_minor FROM payment_allocations"
            " WHERE payment_id = $1 ORDER BY created_at, id",
            row["id"],
        )
        figs = await figures(conn, [a["invoice_id"] for a in allocations], lock=True)
        # the invoice may have been paid another way while the cheque was held (a card payment, a
        # credit note): the cheque then pays only what is still owed, and the rest is credit
        for a in allocations:
            f = figs[a["invoice_id"]]
            room = f.owed_minor if f.status in ("issued", "partially_paid") else 0
            if a["amount_minor"] + a["withheld_minor"] > room:
                withheld = min(a["withheld_minor"], room)
                cash = min(a["amount_minor"], room - withheld)
                if cash + withheld == 0:
                    await conn.execute("DELETE FROM payment_allocations WHERE id = $1", a["id"])
                else:
                    await conn.execute(
                        "UPDATE payment_allocations SET amount_minor = $2, withheld_minor = $3 WHERE id = $1",
                        a["id"],
                        cash,
                        withheld,
                    )
        cleared = await conn.fetchval(
            "UPDATE payments SET status = 'cleared' WHERE id = $1 AND status = 'held' RETURNING id", row["id"]
        )
        if cleared is None:
            return "later"
        await audit(
            conn, ACTOR, "payment.clear", "payment", row["id"], client_id=row["client_id"],
            before={"status": "held"}, after={"status": "cleared", "paid_on": row["paid_on"].isoformat()},
        )  # fmt: skip
        for invoice_id in sorted({a["invoice_id"] for a in allocations}):
            await settle_invoice(conn, ACTOR, invoice_id, why={"cheque_cleared": str(row["id"])})
        return "cleared"


CREDIT_CANDIDATES = """
SELECT DISTINCT i.client_id, i.currency FROM invoices i
WHERE i.status IN ('issued', 'partially_paid')
  AND EXISTS (SELECT 1 FROM payments p WHERE p.client_id = i.client_id AND p.currency = i.currency AND p.status = 'cleared'
              AND p.amount_minor > coalesce((SELECT sum(a.amount_minor) FROM payment_allocations a WHERE a.payment_id = p.id), 0))
LIMIT $1
"""


async def apply_credit_pass(maker: async_sessionmaker[AsyncSession]) -> int:
    """Apply every client's credit to its open invoices of the same currency. Returns allocations made."""
    async with maker() as session, session.begin():
        candidates = await (await driver(session)).fetch(CREDIT_CANDIDATES, BATCH)
    made = 0
    for c in candidates:
        async with maker() as session, session.begin():
            conn = await driver(session)
            if not await lock_client_credit(conn, c["client_id"], wait=False):
                continue
            made += len(await apply_credit(session, ACTOR, c["client_id"], CreditApply(currency=c["currency"])))
    return made


CLAIM_SYNC = """
SELECT s.invoice_id, s.attempts, i.status, i.stripe_invoice_id FROM stripe_payment_syncs s
JOIN invoices i ON i.id = s.invoice_id
WHERE s.state = 'pending' AND s.next_attempt_at <= now() AND i.stripe_invoice_id IS NOT NULL AND i.stripe_state = 'synced'
ORDER BY s.next_attempt_at LIMIT 1 FOR UPDATE OF s, i SKIP LOCKED
"""


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 5 * 2 ** max(0, attempts - 1)))


async def _done(conn: Any, invoice_id: Any, state: str, outcome: str) -> str:
    await conn.execute(
        """UPDATE stripe_payment_syncs SET state = $2::text, outcome = $3, last_error = NULL, attempts = attempts + 1,
                  synced_at = CASE WHEN $2::text = 'synced' THEN now() ELSE synced_at END WHERE invoice_id = $1""",
        invoice_id,
        state,
        outcome,
    )
    return state


async def _push(conn: Any, gateway: StripeGateway, row: Any) -> str:
    if row["status"] != "paid":
        return await _done(conn, row["invoice_id"], "cancelled", f"the invoice is {row['status']} here")
    remote = await gateway.invoice_state(row["stripe_invoice_id"])
    if remote.status == "paid":
        return await _done(conn, row["invoice_id"], "synced", "already paid in Stripe")
    if remote.status not in ("open", "uncollectible"):
        raise stripe.InvalidRequestError(f"the Stripe invoice is {remote.status}", None)
    try:
        await gateway.pay_out_of_band(row["invoice_id"], row["stripe_invoice_id"])
    except stripe.InvalidRequestError:
        # a card payment may have beaten us to it: Stripe's own money then arrives through the webhook
        if (await gateway.invoice_state(row["stripe_invoice_id"])).status == "paid":
            return await _done(conn, row["invoice_id"], "synced", "already paid in Stripe")
        raise
    await audit(
        conn, ACTOR, "invoice.stripe_paid_out_of_band", "invoice", row["invoice_id"], client_id=None,
        after={"stripe_invoice_id": row["stripe_invoice_id"]},
    )  # fmt: skip
    return await _done(conn, row["invoice_id"], "synced", "paid out of band")


async def sync_next_payment(maker: async_sessionmaker[AsyncSession], gateway: StripeGateway) -> str | None:
    """Push one invoice settled here to Stripe. None when nothing is due, else 'synced', 'cancelled',
    'retry' or 'failed'."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        row = await conn.fetchrow(CLAIM_SYNC)
        if row is None:
            return None
        try:
            return await _push(conn, gateway, row)
        except Exception as exc:
            retry = is_retryable(exc)
            attempts = row["attempts"] + 1
            await conn.execute(
                """UPDATE stripe_payment_syncs SET attempts = $2, last_error = $3,
                          state = CASE WHEN $4 THEN 'pending' ELSE 'failed' END,
                          next_attempt_at = now() + $5::interval WHERE invoice_id = $1""",
                row["invoice_id"],
                attempts,
                f"{type(exc).__name__}: {exc}"[:2000],
                retry,
                _backoff(attempts),
            )
            if not retry:
                await conn.execute(
                    "UPDATE invoices SET stripe_mismatch = true, stripe_last_error = $2 WHERE id = $1",
                    row["invoice_id"],
                    f"paid here, but Stripe refused to mark it paid out of band: {exc}"[:2000],
                )
            logger.warning("stripe out-of-band payment of %s failed (%s)", row["invoice_id"], "retry" if retry else "gave up")
            return "retry" if retry else "failed"


async def run_payments(maker: async_sessionmaker[AsyncSession], gateway: StripeGateway | None) -> dict[str, int]:
    """The worker's payments pass: cheques, credit, then (with Stripe) the out-of-band pushes."""
    out = {"cheques_cleared": 0, "credit_allocations": 0, "payments_synced": 0, "payments_retry": 0}
    skip: set[Any] = set()
    for _ in range(BATCH):
        step = await clear_next_cheque(maker, skip)
        if step is None:
            break
        out["cheques_cleared"] += step == "cleared"
    out["credit_allocations"] = await apply_credit_pass(maker)
    if gateway is not None:
        for _ in range(BATCH):
            step = await sync_next_payment(maker, gateway)
            if step is None:
                break
            out["payments_synced" if step in ("synced", "cancelled") else "payments_retry"] += 1
    return out
