"""Stripe webhooks, end to end over real HTTP: signed with the stand-in's secret, stored by the
endpoint, handled by the billing worker against the stand-in's current state of the invoice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import worker
from billing.stripe_gateway import StripeGateway
from tests.billing.stripe_standin import StripeStandIn
from tests.billing.test_stripe import billed, push_until_quiet
from tests.factories import Api

# the Stripe stand-in as a Stripe test expects it (tests/billing/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_standin")


async def post_event(http: httpx.AsyncClient, payload: bytes, signature: str) -> httpx.Response:
    return await http.post(
        "/v1/billing/stripe/webhook", content=payload, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
    )


async def deliver(http: httpx.AsyncClient, standin: StripeStandIn, kind: str, obj: dict[str, Any], **kw: Any) -> str:
    payload = json.dumps(standin.event(kind, obj, **kw)).encode()
    r = await post_event(http, payload, standin.sign(payload))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "pending"
    return str(r.json()["id"])


async def handle(
    maker: async_sessionmaker[AsyncSession], gateway: StripeGateway, db: asyncpg.Pool, event_id: str
) -> tuple[str | None, Any]:
    """One worker step on this event only (other tests' pending events are parked for a day)."""
    await db.execute(
        "UPDATE stripe_events SET next_attempt_at = CASE WHEN id = $1 THEN now() "
        "ELSE now() + interval '1 day' END WHERE state = 'pending'",
        event_id,
    )
    step = await worker.handle_next_event(maker, gateway)
    row = await db.fetchrow(
        "SELECT state, outcome, attempts, last_error, next_attempt_at > now() AS later FROM stripe_events WHERE id = $1", event_id
    )
    return step, row


async def pushed(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
) -> Any:
    _, inv = await billed(staff, finance, fresh_year, db)
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["synced"]
    sid = (await finance.get(f"/v1/invoices/{inv['id']}"))["stripe_invoice_id"]
    return inv, sid


async def payments(db: asyncpg.Pool, invoice_id: str) -> list[int]:
    rows = await db.fetch(
        "SELECT amount_minor FROM payment_allocations WHERE invoice_id = $1 ORDER BY amount_minor", uuid.UUID(invoice_id)
    )
    return [r["amount_minor"] for r in rows]


def _event(standin: StripeStandIn, **over: Any) -> dict[str, Any]:
    ev = standin.event("invoice.paid", {"object": "invoice", "id": "in_malformedcase", "metadata": {}})
    ev.update(over)
    return ev


def _malformed(standin: StripeStandIn) -> list[tuple[str, bytes, str]]:
    """(case, signed body, the field the 400 names)."""
    ok = _event(standin)
    no_id = {k: v for k, v in ok.items() if k != "id"}
    no_type = {k: v for k, v in ok.items() if k != "type"}
    huge = _event(standin, data={"object": {"object": "invoice", "id": "in_huge", "padding": "x" * 600_000}})
    return [
        ("not json", b"this is not json {", "body"),
        ("not utf-8", b'{"id": "evt_\xff\xfe"}', "body"),
        ("json array", b"[1, 2, 3]", "body"),
        ("json string", b'"evt_123"', "body"),
        ("deeply nested", b"[" * 200_000 + b"]" * 200_000, "body"),
        ("NaN", json.dumps(_event(standin, created=float("nan"))).encode(), "body"),
        ("NUL character", json.dumps(_event(standin, request={"id": "a\u0000b"})).encode(), "body"),
        ("lone surrogate", json.dumps(ok).encode()[:-1] + b', "x": "\\ud800"}', "body"),
        ("missing id", json.dumps(no_id).encode(), "id"),
        ("id not a string", json.dumps(_event(standin, id=12345)).encode(), "id"),
        ("id not an event id", json.dumps(_event(standin, id="cus_123")).encode(), "id"),
        ("missing type", json.dumps(no_type).encode(), "type"),
        ("type not a string", json.dumps(_event(standin, type=["invoice.paid"])).encode(), "type"),
        ("unknown type", json.dumps(_event(standin, type="customer.created")).encode(), "type"),
        ("created not a number", json.dumps(_event(standin, created="yesterday")).encode(), "created"),
        ("created a boolean", json.dumps(_event(standin, created=True)).encode(), "created"),
        ("no data", json.dumps(_event(standin, data=None)).encode(), "data.object"),
        ("data.object a string", json.dumps(_event(standin, data={"object": "in_123"})).encode(), "data.object"),
        (
            "not an invoice",
            json.dumps(_event(standin, data={"object": {"object": "customer", "id": "cus_1"}})).encode(),
            "data.object.object",
        ),
        ("invoice without id", json.dumps(_event(standin, data={"object": {"object": "invoice"}})).encode(), "data.object.id"),
        (
            "invoice id a number",
            json.dumps(_event(standin, data={"object": {"object": "invoice", "id": 7}})).encode(),
            "data.object.id",
        ),
        (
            "metadata a list",
            json.dumps(_event(standin, data={"object": {"object": "invoice", "id": "in_1", "metadata": ["x"]}})).encode(),
            "data.object.metadata",
        ),
        ("huge", json.dumps(huge).encode(), "body"),
    ]


async def test_signed_malformed_events_are_400_stored_rejected_and_nothing_applied(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    standin.pay(sid)  # if anything were applied from these events, the invoice would turn paid
    before = await finance.get(f"/v1/invoices/{inv['id']}")
    stored = []
    for case, raw, field in _malformed(standin):
        # the malformed events name the real invoice wherever they can
        body = raw.replace(b"in_malformedcase", sid.encode())
        stored.append(f"rejected_{hashlib.sha256(body).hexdigest()}")
        r = await post_event(http, body, standin.sign(body))
        assert r.status_code == 400, (case, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json"), case
        problem = r.json()
        assert problem["field"] == field, (case, problem)
        row = await db.fetchrow(
            "SELECT state, outcome, payload, raw_excerpt FROM stripe_events WHERE id = $1",
            f"rejected_{hashlib.sha256(body).hexdigest()}",
        )
        assert row is not None, case
        assert row["state"] == "rejected"
        assert row["outcome"] == problem["detail"][:200]
        assert row["payload"] is None
        assert len(row["raw_excerpt"]) <= 1000
        # the same signed body again: still a 400, still one row
        again = await post_event(http, body, standin.sign(body))
        assert again.status_code == 400, case
    assert (
        await db.fetchval("SELECT count(*) FROM stripe_events WHERE state = 'rejected' AND id = ANY($1::text[])", stored)
        == len(set(stored))
        == len(stored)
    )
    # the worker never sees them, and nothing changed
    assert (
        await db.fetchval("SELECT count(*) FROM stripe_events WHERE state = 'pending' AND payload::text LIKE $1", f"%{sid}%") == 0
    )
    assert await finance.get(f"/v1/invoices/{inv['id']}") == before
    assert await payments(db, inv["id"]) == []


async def test_bad_signatures_are_400_and_not_stored(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    payload = json.dumps(standin.event("invoice.paid", standin.pay(sid))).encode()
    event_id = json.loads(payload)["id"]
    for signature in (
        standin.sign(payload, secret="whsec_wrong"),
        standin.sign(payload, timestamp=int(time.time()) - 3600),
        "",
        "t=abc,v1=def",
        "v1=" + "0" * 64,
        f"t={int(time.time())}",
    ):
        r = await post_event(http, payload, signature)
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "Stripe-Signature"
    tampered = await post_event(http, payload.replace(b'"invoice.paid"', b'"invoice.voided"'), standin.sign(payload))
    assert tampered.status_code == 400
    huge = b'{"id": "evt_x", "pad": "' + b"y" * 2_000_000 + b'"}'
    assert (await post_event(http, huge, standin.sign(b"something else"))).status_code == 400
    assert (
        await db.fetchval(
            "SELECT count(*) FROM stripe_events WHERE id = $1 OR id = $2",
            event_id,
            f"rejected_{hashlib.sha256(huge).hexdigest()}",
        )
        == 0
    )
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "issued"


async def test_duplicate_and_concurrent_deliveries_are_applied_once(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    payload = json.dumps(standin.event("invoice.paid", standin.pay(sid))).encode()
    answers = await asyncio.gather(*(post_event(http, payload, standin.sign(payload)) for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 7
    event_id = answers[0].json()["id"]
    assert await db.fetchval("SELECT count(*) FROM stripe_events WHERE id = $1", event_id) == 1
    # the endpoint only stored it: nothing is applied until the worker handles it
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "issued"
    await db.execute(
        "UPDATE stripe_events SET next_attempt_at = CASE WHEN id = $1 THEN now() "
        "ELSE now() + interval '1 day' END WHERE state = 'pending'",
        event_id,
    )
    # two workers at once: one claims it, the other finds nothing due (SKIP LOCKED)
    steps = await asyncio.gather(worker.handle_next_event(maker, gateway), worker.handle_next_event(maker, gateway))
    assert sorted(steps, key=str) == [None, "done"]
    row = await db.fetchrow("SELECT state, outcome FROM stripe_events WHERE id = $1", event_id)
    assert (row["state"], row["outcome"]) == ("done", "paid")
    late = await post_event(http, payload, standin.sign(payload))
    assert late.json() == {"id": event_id, "state": "done", "duplicate": True}
    # a second, distinct paid event for the same invoice changes nothing
    again = await deliver(http, standin, "invoice.paid", standin.invoices[sid])
    assert (await handle(maker, gateway, db, again))[1]["outcome"] == "already paid"
    assert await payments(db, inv["id"]) == [inv["total_minor"]]
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'invoice.paid' AND object_id = $1", inv["id"]) == 1
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["status"] == "paid"
    await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "x"}, expect=409)
    # the statement of the month the invoice was issued in (and paid in: a payment is dated no earlier)
    st = await finance.get(f"/v1/clients/{inv['client_id']}/statements/{inv['issue_date'][:7]}")
    (sec,) = st["currencies"]
    assert [p["amount_minor"] for p in sec["payments"]] == [inv["total_minor"]]
    assert sec["closing_balance_minor"] == 0


async def test_out_of_order_events_converge_to_stripes_state(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    open_snapshot = dict(standin.invoices[sid])
    paid = await deliver(http, standin, "invoice.paid", standin.pay(sid))
    # the older events arrive after the payment: finalized (open), then a payment failure
    finalized = await deliver(http, standin, "invoice.finalized", open_snapshot, created=int(time.time()) - 600)
    failed = await deliver(http, standin, "invoice.payment_failed", open_snapshot, created=int(time.time()) - 300)
    assert (await handle(maker, gateway, db, paid))[1]["outcome"] == "paid"
    assert (await handle(maker, gateway, db, finalized))[1]["outcome"] == "already paid"
    assert (await handle(maker, gateway, db, failed))[1]["outcome"] == "already paid"
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["status"] == "paid"
    assert got["payment_failed_at"] is None
    assert await payments(db, inv["id"]) == [inv["total_minor"]]


async def test_payment_failed_then_void(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    ev = await deliver(http, standin, "invoice.payment_failed", standin.invoices[sid])
    assert (await handle(maker, gateway, db, ev))[1]["outcome"] == "payment failed"
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert (got["status"], got["payment_failed_at"] is not None) == ("issued", True)
    # a "voided" event while Stripe still says open changes nothing; once Stripe voids it, ours follows
    ev = await deliver(http, standin, "invoice.voided", {**standin.invoices[sid], "status": "void"})
    assert (await handle(maker, gateway, db, ev))[1]["outcome"] == "no change: Stripe says open"
    standin.invoices[sid]["status"] = "void"
    ev = await deliver(http, standin, "invoice.voided", standin.invoices[sid])
    assert (await handle(maker, gateway, db, ev))[1]["outcome"] == "void"
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "void"
    ev = await deliver(http, standin, "invoice.paid", {**standin.invoices[sid], "status": "paid"})
    assert (await handle(maker, gateway, db, ev))[1]["outcome"] == "ignored: invoice is void"


async def test_event_before_the_invoice_is_linked_waits_then_applies(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    _, inv = await billed(staff, finance, fresh_year, db)
    # the push creates the customer, then the Stripe invoice, whose answer is lost: Stripe has the
    # invoice (with our id in its metadata), our row has no Stripe id yet
    standin.fail_next("ok", "lost")
    assert await worker.sync_next_invoice(maker, gateway) == "retry"
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["stripe_invoice_id"] is None
    (remote,) = [x for x in standin.invoices.values() if x["metadata"].get("seatlease_invoice_id") == inv["id"]]
    ev = await deliver(http, standin, "invoice.paid", {**remote, "status": "paid", "amount_paid": inv["total_minor"]})
    step, row = await handle(maker, gateway, db, ev)
    assert step == "waiting"
    assert (row["state"], row["attempts"], row["later"]) == ("pending", 1, True)
    assert "not linked" in row["last_error"]
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "issued"
    # the push goes through (same Stripe invoice, by idempotency key), the client pays
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["synced"]
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["stripe_invoice_id"] == remote["id"]
    standin.pay(remote["id"])
    step, row = await handle(maker, gateway, db, ev)
    assert (step, row["state"], row["outcome"], row["attempts"]) == ("done", "done", "paid", 2)
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "paid"
    assert await payments(db, inv["id"]) == [inv["total_minor"]]


@pytest.mark.parametrize("case", ["open", "partial", "negative", "other currency"])
async def test_an_event_claiming_paid_is_believed_only_when_stripe_says_the_whole_amount_is_paid(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
    case: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    total = inv["total_minor"]
    remote = standin.invoices[sid]
    if case == "partial":
        remote.update(status="paid", amount_paid=total // 2, amount_remaining=total - total // 2)
    elif case == "negative":
        remote.update(status="paid", amount_paid=-500)
    elif case == "other currency":
        remote.update(status="paid", amount_paid=total, currency="usd")
    # the signed event itself says: paid in full
    ev = await deliver(http, standin, "invoice.paid", {**remote, "status": "paid", "amount_paid": total, "currency": "php"})
    step, row = await handle(maker, gateway, db, ev)
    assert (step, row["state"]) == ("done", "done")
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    # issue 12: what Stripe received is a payment, and a payment of part of the invoice makes it partially paid
    assert got["status"] == ("partially_paid" if case == "partial" else "issued")
    assert got["paid_at"] is None
    # what Stripe reports as received is recorded; nothing else
    assert await payments(db, inv["id"]) == ([total // 2] if case == "partial" else [])
    assert got["stripe_mismatch"] is (case != "open")
    if case == "partial":
        assert row["outcome"] == f"partial: {total // 2} of {total}"
        # the rest arrives: paid, and the payments add up to the total, not more
        standin.pay(sid)
        remote.update(amount_paid=total)
        ev = await deliver(http, standin, "invoice.paid", remote)
        assert (await handle(maker, gateway, db, ev))[1]["outcome"] == "paid"
        assert sum(await payments(db, inv["id"])) == total
        assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "paid"


async def test_stripe_down_while_handling_is_retried_later_then_applied(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    ev = await deliver(http, standin, "invoice.paid", standin.pay(sid))
    for attempt, failure in enumerate(("timeout", "500", "429"), start=1):
        standin.fail_next(failure)
        step, row = await handle(maker, gateway, db, ev)
        assert (step, row["state"], row["attempts"], row["later"]) == ("retry", "pending", attempt, True), failure
        assert row["last_error"]
        assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "issued"
    # not due while backing off
    assert await worker.handle_next_event(maker, gateway) is None
    # Stripe unreachable altogether (nothing listening on the port), then back
    dead = StripeGateway("sk_test_standin", "http://127.0.0.1:9", timeout=0.5)
    step, row = await handle(maker, dead, db, ev)
    assert (step, row["state"], row["attempts"]) == ("retry", "pending", 4)
    assert "APIConnectionError" in row["last_error"]
    step, row = await handle(maker, gateway, db, ev)
    assert (step, row["state"], row["outcome"], row["last_error"]) == ("done", "done", "paid", None)
    assert await payments(db, inv["id"]) == [inv["total_minor"]]


async def test_worker_pass_handles_events_through_settings(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
    http: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    from service.settings import Settings

    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    ev = await deliver(http, standin, "invoice.paid", standin.pay(sid))
    await db.execute(
        "UPDATE stripe_events SET next_attempt_at = now() + interval '1 day' WHERE state = 'pending' AND id <> $1", ev
    )
    result = await worker.run_once(maker, Settings(STRIPE_API_KEY="sk_test_standin", STRIPE_API_BASE=standin.base_url).billing())
    assert result["events_done"] >= 1
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "paid"
