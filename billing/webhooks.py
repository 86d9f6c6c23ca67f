"""Stripe webhooks (PRODUCT.md rule 6): verified on the raw body, stored once by event id, and
applied so that late, repeated or out-of-order events are harmless: paid and void are final,
and a payment failure never overrides a payment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import stripe

from billing.db import driver
from domain.errors import ValidationFailed
from domain.services.audit import SystemActor, record

TOLERANCE_SECONDS = 300
ACTOR = SystemActor("stripe-webhook")


class BadSignature(ValidationFailed):
    status = 400
    title = "Bad webhook signature"
    type_suffix = "bad-signature"


def verify(payload: bytes, signature: str | None, secret: str | None) -> dict[str, Any]:
    if not secret:
        raise BadSignature("Stripe webhooks are not configured (no STRIPE_WEBHOOK_SECRET)", field="Stripe-Signature")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret, TOLERANCE_SECONDS)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature("the Stripe-Signature header does not match the body, or is too old",
                           field="Stripe-Signature") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadSignature("not a Stripe event", field="body")
    return event


async def handle(session: Any, event: dict[str, Any]) -> str:
    """Store the event (once) and apply it. Returns what happened."""
    conn = await driver(session)
    stored = await conn.fetchval(
        "INSERT INTO stripe_events (id, type, payload) VALUES ($1, $2, $3::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id",
        event["id"], event["type"], json.dumps(event))
    if stored is None:
        return "duplicate"
    outcome = await _apply(session, conn, event)
    await conn.execute("UPDATE stripe_events SET processed_at = now(), outcome = $2 WHERE id = $1", event["id"], outcome)
    return outcome


async def _apply(session: Any, conn: Any, event: dict[str, Any]) -> str:
    kind = event["type"]
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") != "invoice" or kind not in ("invoice.paid", "invoice.payment_succeeded",
                                                        "invoice.payment_failed", "invoice.voided"):
        return "ignored"
    ours = (obj.get("metadata") or {}).get("seatlease_invoice_id")
    inv = await conn.fetchrow(
        """SELECT i.id, i.client_id, i.status, i.currency, i.issue_date, s.timezone FROM invoices i
           JOIN sites s ON s.id = i.site_id
           WHERE i.stripe_invoice_id = $1 OR i.id::text = $2 FOR UPDATE OF i""", str(obj.get("id")), str(ours or ""))
    if inv is None:
        return "unknown invoice"
    created = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
    if kind in ("invoice.paid", "invoice.payment_succeeded"):
        if inv["status"] == "void":
            return "ignored: invoice is void"
        paid_on = max(created.astimezone(ZoneInfo(inv["timezone"])).date(), inv["issue_date"])
        amount = int(obj.get("amount_paid") or 0)
        await conn.execute(
            """INSERT INTO payments (id, invoice_id, client_id, amount_minor, currency, paid_on, source_ref)
               VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6) ON CONFLICT (source_ref) DO NOTHING""",
            inv["id"], inv["client_id"], amount, inv["currency"], paid_on, f"stripe:{obj.get('id')}")
        if inv["status"] == "paid":
            return "already paid"
        await conn.execute("UPDATE invoices SET status = 'paid', paid_at = $2 WHERE id = $1", inv["id"], created)
        await record(session, ACTOR, "invoice.paid", "invoice", inv["id"], after={"event": event["id"], "amount_minor": amount},
                     client_id=inv["client_id"])
        return "paid"
    if kind == "invoice.payment_failed":
        if inv["status"] != "issued":
            return f"ignored: invoice is {inv['status']}"
        await conn.execute(
            "UPDATE invoices SET payment_failed_at = greatest(coalesce(payment_failed_at, $2), $2) WHERE id = $1",
            inv["id"], created)
        await record(session, ACTOR, "invoice.payment_failed", "invoice", inv["id"], after={"event": event["id"]},
                     client_id=inv["client_id"])
        return "payment failed"
    if inv["status"] != "issued":
        return f"ignored: invoice is {inv['status']}"
    await conn.execute("UPDATE invoices SET status = 'void', voided_at = $2, stripe_state = 'synced' WHERE id = $1",
                       inv["id"], created)
    await record(session, ACTOR, "invoice.void", "invoice", inv["id"], after={"event": event["id"], "by": "stripe"},
                 client_id=inv["client_id"])
    return "void"
