"""Payments and Stripe, both directions (issue 12), over real HTTP through the official SDK against
the stand-in: a payment recorded here marks the Stripe invoice paid out of band (pushed by the worker
from its state row, through a failing-then-recovering Stripe); a payment made in Stripe arrives
through the webhook; never both counted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import payment_worker
from billing.stripe_gateway import StripeGateway
from tests.billing.payment_helpers import balance, pay, status
from tests.billing.stripe_standin import StripeStandIn
from tests.billing.test_stripe import billed as billed_for_push
from tests.billing.test_stripe import push_until_quiet
from tests.billing.test_webhooks import handle, post_event, pushed
from tests.factories import Api

# the Stripe stand-in as a Stripe test expects it (tests/billing/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_standin")


async def push_payment(
    maker: async_sessionmaker[AsyncSession], gateway: StripeGateway, db: asyncpg.Pool, invoice_id: str
) -> str | None:
    """One worker step on this invoice's out-of-band push only (it is made due now)."""
    await db.execute(
        "UPDATE stripe_payment_syncs SET next_attempt_at = CASE WHEN invoice_id = $1 THEN now() "
        "ELSE now() + interval '1 day' END WHERE state = 'pending'",
        uuid.UUID(invoice_id),
    )
    return await payment_worker.sync_next_payment(maker, gateway)


async def sync_row(db: asyncpg.Pool, invoice_id: str) -> Any:
    return await db.fetchrow("SELECT * FROM stripe_payment_syncs WHERE invoice_id = $1", uuid.UUID(invoice_id))


async def deliver_outbox(
    http: httpx.AsyncClient,
    standin: StripeStandIn,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    db: asyncpg.Pool,
) -> list[str]:
    """Deliver the events the stand-in made (signed, over the webhook endpoint) and handle each one."""
    outcomes = []
    for payload, signature in standin.take_outbox():
        r = await post_event(http, payload, signature)
        assert r.status_code == 200, r.text
        _, row = await handle(maker, gateway, db, json.loads(payload)["id"])
        outcomes.append(row["outcome"])
    return outcomes


async def money(db: asyncpg.Pool, invoice_id: str) -> list[tuple[str, int]]:
    """(method, amount allocated) of what paid the invoice, by method."""
    rows = await db.fetch(
        """SELECT p.method, a.amount_minor FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
           WHERE a.invoice_id = $1 AND p.status = 'cleared' ORDER BY p.method, a.amount_minor""",
        uuid.UUID(invoice_id),
    )
    return [(r["method"], r["amount_minor"]) for r in rows]


async def test_a_bank_payment_marks_the_stripe_invoice_paid_out_of_band_through_an_outage_and_the_echo_records_nothing(
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
    total = inv["total_minor"]
    await pay(finance, inv["client_id"], total, reference="BPI-55")
    assert await status(finance, inv["id"]) == "paid"
    assert (await sync_row(db, inv["id"]))["state"] == "pending"
    assert standin.invoices[sid]["status"] == "open"
    # Stripe fails: a 500, then no answer at all; the push waits and is retried, never lost
    for attempt, failure in enumerate(("500", "timeout"), start=1):
        standin.fail_next(failure)
        assert await push_payment(maker, gateway, db, inv["id"]) == "retry"
        row = await sync_row(db, inv["id"])
        assert (row["state"], row["attempts"]) == ("pending", attempt)
        assert row["last_error"]
    # Stripe accepted the payment but the answer was lost: the next attempt finds it paid, pays nothing twice
    standin.fail_next("ok", "lost")
    assert await push_payment(maker, gateway, db, inv["id"]) == "retry"
    assert await push_payment(maker, gateway, db, inv["id"]) == "synced"
    row = await sync_row(db, inv["id"])
    assert (row["state"], row["outcome"]) == ("synced", "already paid in Stripe")
    remote = standin.invoices[sid]
    assert (remote["status"], remote["amount_paid_off_stripe"], remote["amount_remaining"]) == ("paid", total, 0)
    assert [p for p in standin.requests if p[1].endswith("/pay")] == [
        ("POST", f"/v1/invoices/{sid}/pay", f"seatlease-pay-out-of-band-{inv['id']}")
    ]
    assert await push_payment(maker, gateway, db, inv["id"]) is None
    # Stripe's invoice.paid echo: Stripe collected nothing itself, so nothing is recorded
    assert await deliver_outbox(http, standin, maker, gateway, db) == ["already paid"]
    assert await money(db, inv["id"]) == [("bank_transfer", total)]
    assert (await balance(finance, inv["client_id"]))["credit_minor"] == 0


async def test_out_of_band_push_recovers_and_the_echo_records_nothing(
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
    await pay(finance, inv["client_id"], inv["total_minor"], method="cash")
    standin.fail_next("429")
    assert await push_payment(maker, gateway, db, inv["id"]) == "retry"
    assert await push_payment(maker, gateway, db, inv["id"]) == "synced"
    assert (await sync_row(db, inv["id"]))["outcome"] == "paid out of band"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'invoice.stripe_paid_out_of_band' AND object_id = $1", inv["id"]
        )
        == 1
    )
    assert await deliver_outbox(http, standin, maker, gateway, db) == ["already paid"]
    assert await money(db, inv["id"]) == [("cash", inv["total_minor"])]
    # the echo again, late: still nothing
    payload = json.dumps(standin.event("invoice.paid", standin.invoices[sid])).encode()
    assert (await post_event(http, payload, standin.sign(payload))).status_code == 200
    _, row = await handle(maker, gateway, db, json.loads(payload)["id"])
    assert row["outcome"] == "already paid"
    assert await money(db, inv["id"]) == [("cash", inv["total_minor"])]


async def test_a_card_payment_in_stripe_after_a_partial_bank_payment_records_only_stripes_amount(
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
    total = inv["total_minor"]
    bank = total * 2 // 5
    await pay(finance, inv["client_id"], bank, [{"invoice_id": inv["id"], "amount_minor": bank}])
    assert await status(finance, inv["id"]) == "partially_paid"
    assert await sync_row(db, inv["id"]) is None  # nothing to tell Stripe until it is paid
    # the client pays the rest by card in Stripe
    standin.card_payment(sid, total - bank)
    assert await deliver_outbox(http, standin, maker, gateway, db) == [f"invoice paid: Stripe says open, {total - bank} received"]
    assert await money(db, inv["id"]) == [("bank_transfer", bank), ("stripe", total - bank)]
    assert await status(finance, inv["id"]) == "paid"
    # Stripe still asks for what the bank paid: the worker marks that part paid out of band
    assert await push_payment(maker, gateway, db, inv["id"]) == "synced"
    remote = standin.invoices[sid]
    assert (remote["status"], remote["amount_paid"], remote["amount_paid_off_stripe"]) == ("paid", total, bank)
    assert await deliver_outbox(http, standin, maker, gateway, db) == ["already paid"]
    assert await money(db, inv["id"]) == [("bank_transfer", bank), ("stripe", total - bank)]
    assert (await balance(finance, inv["client_id"]))["credit_minor"] == 0


async def test_a_card_payment_of_the_whole_invoice_after_a_bank_payment_leaves_the_excess_as_credit(
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
    total = inv["total_minor"]
    bank = 300_000
    await pay(finance, inv["client_id"], bank, [{"invoice_id": inv["id"], "amount_minor": bank}])
    standin.card_payment(sid)  # Stripe still asked for the whole invoice, and got it
    assert await deliver_outbox(http, standin, maker, gateway, db) == ["paid"]
    assert await money(db, inv["id"]) == [("bank_transfer", bank), ("stripe", total - bank)]
    stripe_payment = await db.fetchrow("SELECT amount_minor FROM payments WHERE source_ref LIKE $1", f"stripe:{sid}:%")
    assert stripe_payment["amount_minor"] == total
    bal = await balance(finance, inv["client_id"])
    assert (bal["outstanding_minor"], bal["credit_minor"]) == (0, bank)
    assert await sync_row(db, inv["id"]) is None  # Stripe says paid: nothing to push


async def test_a_cheque_that_bounces_after_the_push_flags_the_invoice(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    inv, sid = await pushed(staff, finance, fresh_year, db, maker, gateway)
    before_push = await pay(finance, inv["client_id"], inv["total_minor"], method="cheque")
    # bounced before the worker came: the push is cancelled, Stripe is never told
    await finance.post(f"/v1/payments/{before_push['id']}/void", {"reason": "bounced"}, expect=200)
    assert (await sync_row(db, inv["id"]))["state"] == "cancelled"
    assert await push_payment(maker, gateway, db, inv["id"]) is None
    assert standin.invoices[sid]["status"] == "open"
    # paid again, pushed, then that cheque bounces too: Stripe cannot un-pay, finance is told
    again = await pay(finance, inv["client_id"], inv["total_minor"], method="cheque")
    assert (await sync_row(db, inv["id"]))["state"] == "pending"
    assert await push_payment(maker, gateway, db, inv["id"]) == "synced"
    await finance.post(f"/v1/payments/{again['id']}/void", {"reason": "bounced"}, expect=200)
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert (got["status"], got["stripe_mismatch"]) == ("issued", True)


async def test_an_invoice_paid_before_its_push_is_not_sent_and_is_marked_paid_out_of_band(
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
    _, inv = await billed_for_push(staff, finance, fresh_year, db)
    await pay(finance, inv["client_id"], inv["total_minor"], reference="paid on the day")
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["synced"]
    sid = (await finance.get(f"/v1/invoices/{inv['id']}"))["stripe_invoice_id"]
    assert sid not in standin.sent  # no request for money already received
    assert await push_payment(maker, gateway, db, inv["id"]) == "synced"
    assert standin.invoices[sid]["status"] == "paid"
    assert await deliver_outbox(http, standin, maker, gateway, db) == ["already paid"]
    assert await money(db, inv["id"]) == [("bank_transfer", inv["total_minor"])]
