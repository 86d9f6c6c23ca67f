"""The billing part of the worker: queued or orphaned billing runs, the push to Stripe, then the
Stripe events received by the webhook (stored first, handled here; see billing/webhooks.py).

Invoices and credit notes that need pushing are rows in a "needs sync" state, claimed one at a
time with FOR UPDATE SKIP LOCKED (several workers can run side by side). A network error, a 429
or a 5xx puts the row back with a later `stripe_next_attempt_at` (exponential back-off); the
Stripe ids learned so far are kept, and idempotency keys make every repeated call harmless.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import payment_worker, webhooks
from billing.config import BillingSettings
from billing.db import driver
from billing.drive import drive_next
from billing.stripe_gateway import StripeGateway, is_retryable
from domain.services.audit import SystemActor

logger = logging.getLogger("seatlease.billing")

MAX_BACKOFF_SECONDS = 3600
BATCH = 50
# who claims a billing run in the audit log
RUN_DRIVER = SystemActor("worker")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 5 * 2 ** max(0, attempts - 1)))


def gateway_for(settings: BillingSettings, *, timeout: float = 20.0) -> StripeGateway | None:
    if not settings.stripe_api_key:
        return None
    return StripeGateway(settings.stripe_api_key, settings.stripe_api_base, timeout=timeout)


async def run_once(
    maker: async_sessionmaker[AsyncSession], settings: BillingSettings, gateway: StripeGateway | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "runs": 0,
        "invoices_synced": 0,
        "invoices_retry": 0,
        "credit_notes_synced": 0,
        "events_done": 0,
        "events_retry": 0,
    }
    if await drive_next(maker, RUN_DRIVER, settings) is not None:
        result["runs"] = 1
    gateway = gateway or gateway_for(settings)
    # --- payments (issue 12): held cheques reaching their date, credit balances applied, and (after
    # the invoice push below) invoices settled here marked paid out of band in Stripe ---
    result.update(await payment_worker.run_payments(maker, None))
    if gateway is None:
        return result  # no Stripe key: invoices stay internal
    for _ in range(BATCH):
        outcome = await sync_next_invoice(maker, gateway)
        if outcome is None:
            break
        result["invoices_synced" if outcome == "synced" else "invoices_retry"] += 1
    for _ in range(BATCH):
        outcome = await sync_next_credit_note(maker, gateway)
        if outcome is None:
            break
        if outcome == "synced":
            result["credit_notes_synced"] += 1
    for _ in range(BATCH):  # --- payments (issue 12) ---
        outcome = await payment_worker.sync_next_payment(maker, gateway)
        if outcome is None:
            break
        result["payments_synced" if outcome in ("synced", "cancelled") else "payments_retry"] += 1
    # after the push, so that an event about an invoice pushed in this pass finds it linked
    for _ in range(BATCH):
        outcome = await handle_next_event(maker, gateway)
        if outcome is None:
            break
        result["events_done" if outcome == "done" else "events_retry"] += 1
    return result


CLAIM_INVOICE = """
SELECT i.id, i.client_id, i.status, i.currency, i.number_label, i.period, i.total_minor, i.tax_minor,
       i.stripe_invoice_id, i.stripe_state, i.stripe_attempts,
       c.legal_name, c.billing_email, c.payment_terms_days, c.stripe_customer_id,
       i.due_date, (now() AT TIME ZONE s.timezone)::date AS site_today
FROM invoices i JOIN clients c ON c.id = i.client_id JOIN sites s ON s.id = i.site_id
WHERE i.stripe_state IN ('pending', 'void_pending') AND i.status <> 'draft'
  AND coalesce(i.stripe_next_attempt_at, now()) <= now()
ORDER BY i.stripe_next_attempt_at NULLS FIRST, i.issue_date, i.number
LIMIT 1 FOR UPDATE OF i SKIP LOCKED
"""


async def sync_next_invoice(maker: async_sessionmaker[AsyncSession], gateway: StripeGateway) -> str | None:
    """Push one due invoice. Returns None when nothing is due, else 'synced', 'retry' or 'failed'."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        row = await conn.fetchrow(CLAIM_INVOICE)
        if row is None:
            return None
        state: dict[str, Any] = {"stripe_invoice_id": row["stripe_invoice_id"], "customer": row["stripe_customer_id"]}
        try:
            outcome = await _push_invoice(conn, gateway, row, state)
        except Exception as exc:
            retry = is_retryable(exc)
            attempts = row["stripe_attempts"] + 1
            await conn.execute(
                """UPDATE invoices SET stripe_attempts = $2, stripe_last_error = $3, stripe_invoice_id = $4,
                          stripe_state = CASE WHEN $5 THEN stripe_state ELSE 'failed' END,
                          stripe_next_attempt_at = now() + $6::interval WHERE id = $1""",
                row["id"],
                attempts,
                f"{type(exc).__name__}: {exc}"[:2000],
                state["stripe_invoice_id"],
                retry,
                backoff(attempts),
            )
            if state["customer"] and not row["stripe_customer_id"]:
                await conn.execute(
                    "UPDATE clients SET stripe_customer_id = $2 WHERE id = $1", row["client_id"], state["customer"]
                )
            logger.warning(
                "stripe push of invoice %s failed (%s): %s", row["id"], "retry" if retry else "gave up", type(exc).__name__
            )
            return "retry" if retry else "failed"
        return outcome


async def _push_invoice(conn: Any, gateway: StripeGateway, row: Any, state: dict[str, Any]) -> str:
    inv_id: uuid.UUID = row["id"]
    if row["stripe_state"] == "void_pending" or row["status"] == "void":
        if state["stripe_invoice_id"]:
            await gateway.void(inv_id, state["stripe_invoice_id"])
        await conn.execute("UPDATE invoices SET stripe_state = 'synced', stripe_last_error = NULL WHERE id = $1", inv_id)
        return "synced"
    if not state["customer"]:
        state["customer"] = await gateway.ensure_customer(row["client_id"], row["legal_name"], row["billing_email"])
        await conn.execute("UPDATE clients SET stripe_customer_id = $2 WHERE id = $1", row["client_id"], state["customer"])
    if not state["stripe_invoice_id"]:
        state["stripe_invoice_id"] = await gateway.create_draft_invoice(
            inv_id, state["customer"], row["currency"], days_until_due(row), row["number_label"], row["period"]
        )
        await conn.execute("UPDATE invoices SET stripe_invoice_id = $2 WHERE id = $1", inv_id, state["stripe_invoice_id"])
    lines = await conn.fetch(
        "SELECT id, description, amount_minor FROM invoice_lines WHERE invoice_id = $1 AND amount_minor <> 0 ORDER BY position",
        inv_id,
    )
    for ln in lines:
        await gateway.add_item(
            str(ln["id"]), state["customer"], state["stripe_invoice_id"], ln["amount_minor"], row["currency"], ln["description"]
        )
    if row["tax_minor"]:
        await gateway.add_item(
            f"tax-{inv_id}", state["customer"], state["stripe_invoice_id"], row["tax_minor"], row["currency"], "Tax"
        )
    final = await gateway.finalize(inv_id, state["stripe_invoice_id"])
    if final.amount_due != max(0, row["total_minor"]):
        # our ledger is the truth: a disagreement is flagged for finance, and the invoice is not sent
        await conn.execute(
            """UPDATE invoices SET stripe_state = 'failed', stripe_mismatch = true, stripe_amount_due = $2,
                      stripe_last_error = $3 WHERE id = $1""",
            inv_id,
            final.amount_due,
            f"Stripe amount_due {final.amount_due} differs from our total {row['total_minor']}",
        )
        logger.error("stripe amount mismatch on invoice %s", inv_id)
        return "failed"
    if row["status"] == "paid":
        # --- payments (issue 12): paid here before it reached Stripe: no request for money is sent,
        # and the worker marks it paid out of band there ---
        await conn.execute(
            "INSERT INTO stripe_payment_syncs (invoice_id) VALUES ($1) ON CONFLICT (invoice_id) DO NOTHING", inv_id
        )
    else:
        await gateway.send(inv_id, state["stripe_invoice_id"])
    await conn.execute(
        """UPDATE invoices SET stripe_state = 'synced', stripe_amount_due = $2, stripe_last_error = NULL,
                  stripe_attempts = stripe_attempts + 1, stripe_hosted_url = coalesce($3, stripe_hosted_url) WHERE id = $1""",
        inv_id,
        final.amount_due,
        final.hosted_url,  # --- portal (issue 14): where the client pays it online ---
    )
    return "synced"


def days_until_due(row: Any) -> int:
    """Stripe counts its due date from the day it finalizes the invoice; ours is the issue date plus
    the client's terms: a push that comes days after the issue (a retry, an outage) keeps our due date."""
    if row["due_date"] is None:
        return int(row["payment_terms_days"])
    return max(0, (row["due_date"] - row["site_today"]).days)


CLAIM_CREDIT_NOTE = """
SELECT cn.id, cn.total_minor, cn.reason, cn.stripe_attempts, i.stripe_invoice_id
FROM credit_notes cn JOIN invoices i ON i.id = cn.invoice_id
WHERE cn.status = 'issued' AND cn.stripe_state = 'pending' AND i.stripe_invoice_id IS NOT NULL
  AND i.stripe_state = 'synced' AND coalesce(cn.stripe_next_attempt_at, now()) <= now()
ORDER BY cn.issue_date, cn.number LIMIT 1 FOR UPDATE OF cn SKIP LOCKED
"""


async def sync_next_credit_note(maker: async_sessionmaker[AsyncSession], gateway: StripeGateway) -> str | None:
    async with maker() as session, session.begin():
        conn = await driver(session)
        row = await conn.fetchrow(CLAIM_CREDIT_NOTE)
        if row is None:
            return None
        try:
            cn_id = await gateway.credit_note(row["id"], row["stripe_invoice_id"], row["total_minor"], row["reason"])
        except Exception as exc:
            retry = is_retryable(exc)
            attempts = row["stripe_attempts"] + 1
            await conn.execute(
                """UPDATE credit_notes SET stripe_attempts = $2, stripe_last_error = $3,
                          stripe_state = CASE WHEN $4 THEN stripe_state ELSE 'failed' END,
                          stripe_next_attempt_at = now() + $5::interval WHERE id = $1""",
                row["id"],
                attempts,
                f"{type(exc).__name__}: {exc}"[:2000],
                retry,
                backoff(attempts),
            )
            return "retry" if retry else "failed"
        await conn.execute(
            "UPDATE credit_notes SET stripe_state = 'synced', stripe_credit_note_id = $2, stripe_last_error = NULL WHERE id = $1",
            row["id"],
            cn_id,
        )
        return "synced"


CLAIM_EVENT = """
SELECT id, type, payload, attempts FROM stripe_events
WHERE state = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at, received_at LIMIT 1 FOR UPDATE SKIP LOCKED
"""


async def handle_next_event(maker: async_sessionmaker[AsyncSession], gateway: StripeGateway) -> str | None:
    """Handle one due webhook event. None when nothing is due, else 'done', 'waiting' (its invoice is
    not linked yet), 'retry' (Stripe unreachable) or 'failed' (Stripe refused for good)."""
    async with maker() as session, session.begin():
        conn = await driver(session)
        row = await conn.fetchrow(CLAIM_EVENT)
        if row is None:
            return None
        event = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        attempts = row["attempts"] + 1
        try:
            async with conn.transaction():  # a savepoint: a failure leaves only the bookkeeping below
                outcome = await webhooks.apply(session, conn, gateway, event)
        except webhooks.NotYet as exc:
            await _event_later(conn, row["id"], attempts, str(exc), retry=True)
            return "waiting"
        except Exception as exc:
            retry = is_retryable(exc)
            await _event_later(conn, row["id"], attempts, f"{type(exc).__name__}: {exc}", retry=retry)
            logger.warning("stripe event %s not handled (%s): %s", row["id"], "retry" if retry else "gave up", type(exc).__name__)
            return "retry" if retry else "failed"
        await conn.execute(
            "UPDATE stripe_events SET state = 'done', attempts = $2, processed_at = now(), outcome = $3, "
            "last_error = NULL WHERE id = $1",
            row["id"],
            attempts,
            outcome[:200],
        )
        return "done"


async def _event_later(conn: Any, event_id: str, attempts: int, error: str, *, retry: bool) -> None:
    await conn.execute(
        """UPDATE stripe_events SET attempts = $2, last_error = $3,
                  state = CASE WHEN $4 THEN 'pending' ELSE 'failed' END,
                  processed_at = CASE WHEN $4 THEN NULL ELSE now() END,
                  next_attempt_at = now() + $5::interval WHERE id = $1""",
        event_id,
        attempts,
        error[:2000],
        retry,
        backoff(attempts),
    )
