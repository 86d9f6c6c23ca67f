"""Stripe as the integrations page shows it: invoices and credit notes waiting to be pushed or failed,
payments recorded here waiting to be marked paid there, and the webhook events received and handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing.config import BillingSettings
from domain.services.integrations import IntegrationTarget

STRIPE_SETTINGS = ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"]

_COUNTS = """
SELECT
  (SELECT count(*) FROM invoices WHERE status <> 'draft' AND stripe_state IN ('pending', 'void_pending')) AS invoices_pending,
  (SELECT count(*) FROM invoices WHERE stripe_state = 'failed') AS invoices_failed,
  (SELECT count(*) FROM invoices WHERE stripe_state = 'synced') AS invoices_synced,
  (SELECT count(*) FROM invoices WHERE stripe_mismatch) AS amount_mismatches,
  (SELECT count(*) FROM credit_notes WHERE status = 'issued' AND stripe_state = 'pending') AS credit_notes_pending,
  (SELECT count(*) FROM credit_notes WHERE stripe_state = 'failed') AS credit_notes_failed,
  (SELECT count(*) FROM stripe_payment_syncs WHERE state = 'pending') AS payment_syncs_pending,
  (SELECT count(*) FROM stripe_payment_syncs WHERE state = 'failed') AS payment_syncs_failed,
  (SELECT max(synced_at) FROM stripe_payment_syncs) AS last_payment_sync,
  (SELECT count(*) FROM stripe_events WHERE state = 'pending') AS webhooks_pending,
  (SELECT count(*) FROM stripe_events WHERE state IN ('failed', 'rejected')) AS webhooks_failed,
  (SELECT count(*) FROM stripe_events WHERE state = 'done') AS webhooks_handled,
  (SELECT max(processed_at) FROM stripe_events WHERE state = 'done') AS last_webhook_handled
"""

# the latest error with a time: a webhook event's (handled or given up); else the latest undated one, a
# payment sync's or an invoice's push (their rows keep the next attempt's time, not the failure's)
_DATED_ERROR = """
SELECT last_error, COALESCE(processed_at, received_at) AS at FROM stripe_events WHERE last_error IS NOT NULL
ORDER BY at DESC LIMIT 1
"""
_UNDATED_ERROR = """
SELECT last_error FROM (
  SELECT last_error, attempts FROM stripe_payment_syncs WHERE last_error IS NOT NULL AND state <> 'synced'
  UNION ALL
  SELECT stripe_last_error, stripe_attempts FROM invoices WHERE stripe_last_error IS NOT NULL AND stripe_state <> 'synced'
) e ORDER BY attempts DESC LIMIT 1
"""


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


async def stripe_target(session: AsyncSession, billing: BillingSettings, *, webhook_secret_set: bool) -> IntegrationTarget:
    c = (await session.execute(text(_COUNTS))).one()
    dated = (await session.execute(text(_DATED_ERROR))).first()
    undated = None if dated else await session.scalar(text(_UNDATED_ERROR))
    configured = bool(billing.stripe_api_key)
    if not configured:
        note = "Off: set STRIPE_API_KEY (and STRIPE_WEBHOOK_SECRET) to collect through Stripe; until then invoices stay internal."
    elif not webhook_secret_set:
        note = "STRIPE_WEBHOOK_SECRET is missing: Stripe's webhooks are refused, so payments made in Stripe are not seen."
    else:
        note = "Invoices are pushed to Stripe; its signed webhooks are received at /v1/billing/stripe/webhook."
    counts = {name: int(getattr(c, name)) for name in c._fields if not name.startswith("last_")}
    return IntegrationTarget(
        key="stripe",
        name="Payments (Stripe)",
        configured=configured,
        endpoint=(billing.stripe_api_base or "https://api.stripe.com") if configured else None,
        settings=STRIPE_SETTINGS,
        note=note,
        last_success_at=_latest(c.last_payment_sync, c.last_webhook_handled),
        last_error=dated.last_error if dated else undated,
        last_error_at=dated.at if dated else None,
        pending=sum(n for name, n in counts.items() if name.endswith("_pending")),
        failed=sum(n for name, n in counts.items() if name.endswith("_failed")),
        counts=counts,
    )
