"""Stripe webhooks (PRODUCT.md rule 6, ARCHITECTURE.md convention 10).

Receiving: the raw body's signature is verified as it streams in (Stripe's `v1` scheme), then a
well-formed event is stored once under its id as `pending` and answered at once. A signed but
malformed event (not JSON, not an object, a missing or mistyped field, an unsupported type, an
invoice without id, too large) is answered 400 and stored as `rejected` with the reason, keyed
by a hash of its body; nothing is ever applied from it. A bad signature is a 400 and nothing is
stored.

Handling (by the worker, from the stored row): the event only says *which* Stripe invoice to look
at. The invoice's current state is read back from Stripe, so late, repeated or out-of-order
events converge to what Stripe says now. What Stripe itself collected on the invoice (`amount_paid`
less `amount_paid_off_stripe`, in the invoice's currency) is recorded as `stripe` payments whatever
the status (once: each payment row carries Stripe's cumulative amount), allocated to what the invoice
still owes here; the invoice's state then follows the one rule of billing/settlement.py, with what
was paid here by bank or cheque. So the echo of an invoice we marked paid out of band records
nothing, and Stripe saying `paid` while less was paid is flagged. An event whose invoice is not
linked to its Stripe invoice yet (the push has not finished) stays pending and is retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing.db import driver
from billing.settlement import figures, lock_client_credit, settle_invoice
from billing.stripe_gateway import RemoteInvoice, StripeGateway
from domain.errors import ValidationFailed
from domain.services.audit import SystemActor, record

TOLERANCE_SECONDS = 300
# Stripe's events are a few KB; a body above this is refused (it is still verified, by streaming)
MAX_EVENT_BYTES = 512 * 1024
EXCERPT_CHARS = 1000
ACTOR = SystemActor("stripe-webhook")

# the invoice events the endpoint subscribes to; each one only means "look at this invoice again"
HANDLED_TYPES = frozenset(
    {
        "invoice.created",
        "invoice.finalized",
        "invoice.updated",
        "invoice.sent",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.marked_uncollectible",
        "invoice.voided",
        "invoice.overdue",
    }
)
_EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,250}$")
_INVOICE_ID = re.compile(r"^in_[A-Za-z0-9_]{1,250}$")


class BadSignature(ValidationFailed):
    status = 400
    title = "Bad webhook signature"
    type_suffix = "bad-signature"


class MalformedEvent(ValidationFailed):
    status = 400
    title = "Malformed Stripe event"
    type_suffix = "malformed-event"


class Verifier:
    """Checks the `Stripe-Signature` header against the raw body fed to it chunk by chunk, keeping
    at most MAX_EVENT_BYTES of it (a huge body is hashed, never held)."""

    def __init__(self, header: str | None, secret: str | None, *, now: float | None = None) -> None:
        if not secret:
            raise BadSignature("Stripe webhooks are not configured (no STRIPE_WEBHOOK_SECRET)", field="Stripe-Signature")
        timestamp, self.signatures = _parse_header(header)
        if timestamp < (now or time.time()) - TOLERANCE_SECONDS:
            raise BadSignature("the Stripe-Signature header is too old", field="Stripe-Signature")
        self.mac = hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
        self.digest = hashlib.sha256()
        self.size = 0
        self.kept = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.mac.update(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        if len(self.kept) <= MAX_EVENT_BYTES:
            self.kept += chunk[: MAX_EVENT_BYTES + 1 - len(self.kept)]

    def finish(self) -> SignedBody:
        expected = self.mac.hexdigest()
        if not any(hmac.compare_digest(expected, s) for s in self.signatures):
            raise BadSignature("the Stripe-Signature header does not match the body", field="Stripe-Signature")
        return SignedBody(bytes(self.kept) if self.size <= MAX_EVENT_BYTES else None, self.size, self.digest.hexdigest())


def _parse_header(header: str | None) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("the Stripe-Signature header is missing or has no t= and v1=", field="Stripe-Signature")
    return timestamp, signatures


@dataclass(frozen=True)
class SignedBody:
    body: bytes | None  # None when larger than MAX_EVENT_BYTES
    size: int
    sha256: str


@dataclass(frozen=True)
class Received:
    event_id: str
    state: str
    duplicate: bool
    reason: str | None = None
    field: str | None = None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _str_field(obj: dict[str, Any], key: str, where: str, pattern: re.Pattern[str] | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{where} is missing or not a string", field=where)
    if pattern is not None and not pattern.match(value):
        raise MalformedEvent(f"{where} is not a Stripe id of the expected kind", field=where)
    return value


def parse_event(signed: SignedBody) -> dict[str, Any]:
    """The event, if it is one we handle and can store; MalformedEvent (naming the field) otherwise."""
    if signed.body is None:
        raise MalformedEvent(f"the event is larger than {MAX_EVENT_BYTES} bytes", field="body")
    try:
        text = signed.body.decode("utf-8")
        event = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
        # PostgreSQL's jsonb holds neither NUL characters nor lone surrogates
        json.dumps(event, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise MalformedEvent(f"the body is not JSON text in UTF-8 ({type(exc).__name__})", field="body") from exc
    if "\\u0000" in text:
        raise MalformedEvent("the body contains a NUL character", field="body")
    if not isinstance(event, dict):
        raise MalformedEvent("the body is not a JSON object", field="body")
    _str_field(event, "id", "id", _EVENT_ID)
    kind = _str_field(event, "type", "type")
    if kind not in HANDLED_TYPES:
        raise MalformedEvent(f"events of type {kind[:100]!r} are not handled here", field="type")
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool) or not 0 <= created < 2**40:
        raise MalformedEvent("created is missing or not a timestamp", field="created")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("data.object is missing or not an object", field="data.object")
    obj = data["object"]
    if obj.get("object") != "invoice":
        raise MalformedEvent("data.object is not an invoice", field="data.object.object")
    _str_field(obj, "id", "data.object.id", _INVOICE_ID)
    if obj.get("metadata") is not None and not isinstance(obj["metadata"], dict):
        raise MalformedEvent("data.object.metadata is not an object", field="data.object.metadata")
    return event


async def receive(session: Any, signed: SignedBody) -> Received:
    """Store a verified body: `pending` once per event id, or `rejected` with the reason."""
    conn = await driver(session)
    try:
        event = parse_event(signed)
    except MalformedEvent as exc:
        rejected_id = f"rejected_{signed.sha256}"
        excerpt = (signed.body or b"")[:EXCERPT_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")
        await conn.execute(
            """INSERT INTO stripe_events (id, type, payload, state, outcome, raw_excerpt, processed_at)
               VALUES ($1, '', NULL, 'rejected', $2, $3, now()) ON CONFLICT (id) DO NOTHING""",
            rejected_id,
            exc.detail[:200],
            excerpt,
        )
        return Received(rejected_id, "rejected", False, exc.detail, exc.field)
    stored = await conn.fetchval(
        "INSERT INTO stripe_events (id, type, payload, state) VALUES ($1, $2, $3::jsonb, 'pending') "
        "ON CONFLICT (id) DO NOTHING RETURNING id",
        event["id"],
        event["type"],
        json.dumps(event),
    )
    if stored is None:
        state = await conn.fetchval("SELECT state FROM stripe_events WHERE id = $1", event["id"])
        return Received(event["id"], str(state), True)
    return Received(event["id"], "pending", False)


class NotYet(Exception):
    """The event cannot be applied yet (its invoice is not linked, or is being pushed): retry later."""


async def apply(session: Any, conn: Any, gateway: StripeGateway, event: dict[str, Any]) -> str:  # noqa: C901 — each Stripe event type is one branch of a flat dispatch; splitting it would scatter one decision
    """Bring our invoice in line with what Stripe says about it now. Returns what happened."""
    remote = await gateway.invoice_state(event["data"]["object"]["id"])
    try:
        ours = uuid.UUID(remote.seatlease_invoice_id or "")
    except ValueError:
        return "ignored: not a seatlease invoice"
    inv = await conn.fetchrow(
        """SELECT i.id, i.client_id, i.status, i.currency, i.issue_date, i.total_minor, i.stripe_invoice_id,
                  s.timezone FROM invoices i JOIN sites s ON s.id = i.site_id
           WHERE i.id = $1 FOR UPDATE OF i SKIP LOCKED""",
        ours,
    )
    if inv is None:
        if await conn.fetchval("SELECT 1 FROM invoices WHERE id = $1", ours):
            raise NotYet("the invoice is locked by another worker (its push, or another event)")
        return "ignored: unknown invoice"
    if inv["stripe_invoice_id"] is None:
        raise NotYet("the invoice is not linked to its Stripe invoice yet")
    if inv["stripe_invoice_id"] != remote.stripe_id:
        return f"ignored: the invoice is linked to {inv['stripe_invoice_id']}"
    if inv["status"] == "void":
        return "ignored: invoice is void"
    if remote.currency != inv["currency"].upper():
        await _flag(conn, inv["id"], f"Stripe's currency {remote.currency} differs from ours {inv['currency']}")
        return "mismatch: currency"
    created = datetime.fromtimestamp(int(event["created"]), UTC)
    # --- payments (issue 12): Stripe's money is a payment allocated to the invoice; the one rule of
    # billing/settlement.py then says where the invoice stands (with what was paid here by bank or cheque)
    if not await lock_client_credit(conn, inv["client_id"], wait=False):
        raise NotYet("the client's payments are being recorded by another transaction")
    received = await _record_payments(conn, inv, remote, created)
    owed = int(inv["total_minor"]) - int(
        await conn.fetchval(
            "SELECT coalesce(sum(total_minor), 0) FROM credit_notes WHERE invoice_id = $1 AND status = 'issued'", inv["id"]
        )
    )
    before, after = await settle_invoice(
        conn,
        ACTOR,
        inv["id"],
        when=created,
        stripe_says_paid=remote.status == "paid",
        why={"event": event["id"], "amount_paid_minor": remote.amount_paid},
    )
    if remote.status == "paid":
        if after == "paid":
            return "already paid" if before == "paid" else "paid"
        await _flag(conn, inv["id"], f"Stripe says paid, but {remote.amount_paid} of {owed} was paid")
        return f"partial: {remote.amount_paid} of {owed}"
    if after != "issued":
        return f"invoice {after}: Stripe says {remote.status}" + (f", {received} received" if received else "")
    if remote.status == "void":
        if received:
            return "ignored: Stripe voided an invoice with payments"
        await conn.execute(
            "UPDATE invoices SET status = 'void', voided_at = $2, stripe_state = 'synced' WHERE id = $1", inv["id"], created
        )
        await record(
            session,
            ACTOR,
            "invoice.void",
            "invoice",
            inv["id"],
            after={"event": event["id"], "by": "stripe"},
            client_id=inv["client_id"],
        )
        return "void"
    if event["type"] == "invoice.payment_failed" and remote.status in ("open", "uncollectible"):
        await conn.execute(
            "UPDATE invoices SET payment_failed_at = greatest(coalesce(payment_failed_at, $2), $2) WHERE id = $1",
            inv["id"],
            created,
        )
        await record(
            session,
            ACTOR,
            "invoice.payment_failed",
            "invoice",
            inv["id"],
            after={"event": event["id"]},
            client_id=inv["client_id"],
        )
        return "payment failed"
    return f"no change: Stripe says {remote.status}" + (f", {received} received" if received else "")


async def _record_payments(conn: Any, inv: Any, remote: RemoteInvoice, created: datetime) -> int:
    """Payments recorded from Stripe follow what Stripe itself collected on the invoice (its cumulative
    `amount_paid` less `amount_paid_off_stripe`: an invoice we marked paid out of band echoes back
    with money that is ours, never recorded twice), never down, never twice. The new money pays what
    the invoice still owes here (after bank transfers and cheques); any excess is the client's credit
    balance. Returns what Stripe has collected on the invoice so far."""
    source = f"stripe:{remote.stripe_id}"
    recorded = int(
        await conn.fetchval(
            "SELECT coalesce(sum(amount_minor), 0) FROM payments WHERE source_ref = $1 OR source_ref LIKE $2",
            source,
            source + ":%",
        )
    )
    paid = remote.paid_through_stripe
    if paid > recorded:
        paid_on = max(created.astimezone(ZoneInfo(inv["timezone"])).date(), inv["issue_date"])
        owed = (await figures(conn, [inv["id"]]))[inv["id"]].owed_minor
        payment_id = await conn.fetchval(
            """INSERT INTO payments (id, client_id, amount_minor, currency, paid_on, method, reference, source_ref, received_on)
               VALUES (gen_random_uuid(), $1, $2, $3, $4, 'stripe', $6, $5, $4) ON CONFLICT (source_ref) DO NOTHING
               RETURNING id""",
            inv["client_id"],
            paid - recorded,
            inv["currency"],
            paid_on,
            f"{source}:{paid}",
            remote.stripe_id,
        )
        if payment_id is not None and min(owed, paid - recorded) > 0:
            await conn.execute(
                "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor, allocated_on) VALUES ($1, $2, $3, $4)",
                payment_id,
                inv["id"],
                min(owed, paid - recorded),
                paid_on,
            )
    return max(paid, recorded)


async def _flag(conn: Any, invoice_id: uuid.UUID, why: str) -> None:
    await conn.execute("UPDATE invoices SET stripe_mismatch = true, stripe_last_error = $2 WHERE id = $1", invoice_id, why[:2000])
