"""Stripe through the official SDK, over real HTTP, against the local stand-in: push, retries,
idempotency, mismatch flagging (webhooks: test_webhooks.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import worker
from billing.run import create_run
from billing.stripe_gateway import StripeGateway
from domain.services.audit import SystemActor
from service.settings import Settings
from tests.billing import stripe_shapes as shapes
from tests.billing.conftest import invoices_of, run_month
from tests.billing.stripe_standin import StripeStandIn
from tests.factories import Api, World, lease_body, make_world

# the Stripe stand-in as a Stripe test expects it (tests/billing/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_standin")

# what the gateway, the worker and the webhook handler read of a Stripe invoice
INVOICE_FIELDS_USED = ("id", "object", "status", "amount_due", "amount_paid", "currency", "metadata", "customer", "lines")


async def billed(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool, **kw: Any
) -> tuple[World, dict[str, Any]]:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2, **kw))
    await run_month(finance, f"{y}-01")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    # only this invoice is due for the push in this test: park every other pending one
    await db.execute(
        "UPDATE invoices SET stripe_next_attempt_at = now() + interval '1 day' "
        "WHERE stripe_state IN ('pending','void_pending') AND id <> $1",
        uuid.UUID(inv["id"]),
    )
    return w, inv


async def push_until_quiet(
    maker: async_sessionmaker[AsyncSession], gateway: StripeGateway, db: asyncpg.Pool, invoice_id: str
) -> list[str]:
    outcomes: list[str] = []
    for _ in range(10):
        # back-off moved it into the future: let it be due now
        await db.execute(
            "UPDATE invoices SET stripe_next_attempt_at = now() WHERE id = $1 AND stripe_state IN ('pending', 'void_pending')",
            uuid.UUID(invoice_id),
        )
        outcome = await worker.sync_next_invoice(maker, gateway)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


async def test_push_creates_customer_items_finalizes_and_sends(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    w, inv = await billed(staff, finance, fresh_year, db)
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["synced"]
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["stripe_state"] == "synced"
    assert got["stripe_invoice_id"].startswith("in_")
    remote = standin.invoices[got["stripe_invoice_id"]]
    assert remote["status"] == "open"
    assert remote["id"] in standin.sent
    assert remote["collection_method"] == "send_invoice"
    assert remote["days_until_due"] == 30
    assert remote["amount_due"] == inv["total_minor"]
    assert remote["metadata"]["seatlease_invoice_id"] == inv["id"]
    non_zero = [x for x in inv["lines"] if x["amount_minor"]]
    assert len(remote["lines"]["data"]) == len(non_zero) + 1  # + the tax item
    cust = await db.fetchval("SELECT stripe_customer_id FROM clients WHERE id = $1", uuid.UUID(w.client["id"]))
    assert cust == remote["customer"]

    # a credit note follows the invoice to Stripe, once
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "goodwill", "amount_minor": 1000})
    assert await worker.sync_next_credit_note(maker, gateway) == "synced"
    assert await worker.sync_next_credit_note(maker, gateway) is None
    (remote_cn,) = [c for c in standin.credit_notes.values() if c["metadata"].get("seatlease_credit_note_id") == cn["id"]]
    assert remote_cn["amount"] == cn["total_minor"]
    assert remote_cn["invoice"] == remote["id"]


async def test_outage_delays_but_never_duplicates(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    w, inv = await billed(staff, finance, fresh_year, db)
    before = len(standin.invoices)
    # timeouts, 500s, 429s, and requests that Stripe carried out but whose answer was lost
    standin.fail_next("timeout")
    assert await worker.sync_next_invoice(maker, gateway) == "retry"
    row = await db.fetchrow(
        "SELECT stripe_state, stripe_attempts, stripe_next_attempt_at > now() AS later, "
        "stripe_last_error FROM invoices WHERE id = $1",
        uuid.UUID(inv["id"]),
    )
    assert row["stripe_state"] == "pending"
    assert row["stripe_attempts"] == 1
    assert row["later"]
    assert "APIConnectionError" in row["stripe_last_error"]
    assert await worker.sync_next_invoice(maker, gateway) is None  # backing off: not due yet
    outcomes = []
    for failure in ("500", "lost", "429", "lost", "timeout", "lost"):
        standin.fail_next(failure)
        outcomes += await push_until_quiet(maker, gateway, db, inv["id"])
    assert outcomes[-1] == "synced"
    assert outcomes.count("synced") == 1
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["stripe_state"] == "synced"
    # the timed-out requests may have reached Stripe: idempotency keys made the repeats harmless
    assert len(standin.invoices) == before + 1
    remote = standin.invoices[got["stripe_invoice_id"]]
    assert remote["amount_due"] == inv["total_minor"]
    assert len(remote["lines"]["data"]) == len([x for x in inv["lines"] if x["amount_minor"]]) + 1
    assert (
        len(
            {
                c["metadata"]["seatlease_client_id"]
                for c in standin.customers.values()
                if c["metadata"].get("seatlease_client_id") == w.client["id"]
            }
        )
        == 1
    )
    assert sum(1 for c in standin.customers.values() if c["metadata"].get("seatlease_client_id") == w.client["id"]) == 1


async def test_same_key_other_params_is_stripes_idempotency_error(gateway: StripeGateway) -> None:
    client = gateway.client
    opts: stripe.RequestOptions = {"idempotency_key": f"test-{uuid.uuid4()}"}
    a = await client.v1.customers.create_async({"name": "A"}, opts)
    b = await client.v1.customers.create_async({"name": "A"}, opts)
    assert a.id == b.id
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async({"name": "B"}, opts)


async def test_amount_mismatch_is_flagged_not_sent(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    _, inv = await billed(staff, finance, fresh_year, db)
    standin.amount_due_skew = 1
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["failed"]
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["stripe_mismatch"] is True
    assert got["stripe_state"] == "failed"
    assert got["stripe_invoice_id"] not in standin.sent
    kpis = await finance.get("/v1/reports/kpis")
    assert kpis["billing"]["stripe_mismatches"] >= 1


async def test_worker_runs_queued_runs_and_without_key_keeps_invoices_internal(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    standin: StripeStandIn,
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-05-01", seat_count=1))
    async with maker() as session, session.begin():
        run = await create_run(session, SystemActor("test"), f"{y}-05", advance_days=62000)
    calls = len(standin.requests)
    result = await worker.run_once(maker, Settings(STRIPE_API_KEY=None).billing())
    assert result["runs"] == 1
    assert result["invoices_synced"] == 0
    row = await db.fetchrow("SELECT status, invoices_count FROM billing_runs WHERE id = $1", run.id)
    assert row["status"] == "done"
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-05")
    assert inv["status"] == "issued"
    assert inv["stripe_invoice_id"] is None
    assert len(standin.requests) == calls  # nothing went out


async def test_worker_with_settings_pushes_through_stripe_api_base(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    standin: StripeStandIn,
) -> None:
    _, inv = await billed(staff, finance, fresh_year, db)
    settings = Settings(STRIPE_API_KEY="sk_test_standin", STRIPE_API_BASE=standin.base_url)
    result = await worker.run_once(maker, settings.billing())
    assert result["invoices_synced"] >= 1
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["stripe_state"] == "synced"


async def test_void_is_pushed_to_stripe(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    _, inv = await billed(staff, finance, fresh_year, db)
    await push_until_quiet(maker, gateway, db, inv["id"])
    await finance.post(f"/v1/invoices/{inv['id']}/void", {"reason": "duplicate"}, expect=200)
    standin.fail_next("500")
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["retry", "synced"]
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert got["stripe_state"] == "synced"
    assert standin.invoices[got["stripe_invoice_id"]]["status"] == "void"


async def test_standin_answers_in_the_shapes_of_stripes_fixtures(gateway: StripeGateway, standin: StripeStandIn) -> None:
    """The stand-in's answers, checked against the `stripe` SDK's own typed resources: every field is
    one the SDK declares, and the fields seatlease reads (gateway, worker, webhooks) are there with
    the SDK's types."""
    client = gateway.client
    cus = await client.v1.customers.create_async({"name": "Shape"})
    inv = await client.v1.invoices.create_async(
        {"customer": cus.id, "currency": "php", "days_until_due": 15, "collection_method": "send_invoice"}
    )
    item = await client.v1.invoice_items.create_async({"customer": cus.id, "invoice": inv.id, "amount": 1234, "currency": "php"})
    final = await client.v1.invoices.finalize_invoice_async(inv.id)
    note = await client.v1.credit_notes.create_async({"invoice": inv.id, "amount": 100})
    # days_until_due is part of Stripe's invoice object for send_invoice collection
    invoice = {k: v for k, v in standin.invoices[inv.id].items() if k != "days_until_due"}
    answers: list[tuple[dict[str, Any], type[stripe.StripeObject], tuple[str, ...]]] = [
        (standin.customers[cus.id], stripe.Customer, ("id", "object", "name", "email", "metadata")),
        (standin.items[item.id], stripe.InvoiceItem, ("id", "object", "amount", "currency", "customer", "invoice")),
        (invoice, stripe.Invoice, INVOICE_FIELDS_USED),
        (invoice["lines"]["data"][0], stripe.InvoiceLineItem, ("id", "object", "amount", "currency", "invoice")),
        (standin.credit_notes[note.id], stripe.CreditNote, ("id", "object", "amount", "invoice", "status", "total")),
        (standin.event("invoice.paid", invoice), stripe.Event, ("id", "object", "type", "created", "data")),
    ]
    for answer, resource, used in answers:
        assert shapes.check(answer, resource, used) == [], resource.__name__
    # and the SDK parses them into its typed objects
    assert isinstance(final, stripe.Invoice)
    assert final.amount_due == 1234
    assert isinstance(note, stripe.CreditNote)


# --- invoices dated as issued (issue 12) ---
async def test_a_late_push_keeps_our_due_date(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    db: asyncpg.Pool,
    maker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    standin: StripeStandIn,
) -> None:
    """Stripe counts days_until_due from the day it finalizes: an invoice issued 12 days before its
    push (an outage, retries) is sent with the 18 days left to our due date, not the 30 days of terms."""
    _, inv = await billed(staff, finance, fresh_year, db)
    await db.execute(
        "UPDATE invoices SET issue_date = issue_date - 12, due_date = due_date - 12 WHERE id = $1", uuid.UUID(inv["id"])
    )
    assert await push_until_quiet(maker, gateway, db, inv["id"]) == ["synced"]
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert standin.invoices[got["stripe_invoice_id"]]["days_until_due"] == 18
