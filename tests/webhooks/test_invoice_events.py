"""Invoice events: `invoice.overdue` once per invoice the day it passes its due date unpaid (two
worker passes at once announce it once; a paid or not-yet-due invoice never), and `invoice.paid`
when a payment settles it (the settlement writes its audit row in raw SQL: the trigger still sees it)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from fastapi import FastAPI

from billing.overdue_events import mark_overdue
from service.worker import jobs, overdue_invoices, send_webhooks
from tests.billing.ledger_setup import invoice, make_party
from tests.billing.test_dunning import today_at
from tests.factories import Api, ClientLogin
from tests.webhooks.conftest import drain, sender, subscribe
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.usefixtures("open_targets")


async def test_overdue_once_per_invoice_and_paid_when_settled(
    app: FastAPI, staff: Api, finance: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    assert jobs().index(overdue_invoices) < jobs().index(send_webhooks)
    p = await make_party(staff)
    client = await client_login(p.client["id"])
    t = today_at(p)
    maker = app.state.sessionmaker
    with receiver() as rx:
        await subscribe(client, rx, "inv", ["invoice.overdue", "invoice.paid"])
        late = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10))
        await invoice(db, p, issue=t - timedelta(days=5), due=t + timedelta(days=25))  # not due yet
        await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10), status="paid")
        # two passes at once (and a third later) announce it once
        await asyncio.gather(mark_overdue(maker), mark_overdue(maker))
        await mark_overdue(maker)
        await drain(maker, sender(app))
        assert [(g.body["type"], g.body["data"]["id"]) for g in rx.at("inv")] == [("invoice.overdue", str(late["id"]))]
        change = rx.at("inv")[0].body["data"]["change"]
        assert change["days_overdue"] == 10
        assert change["outstanding_minor"] == late["total_minor"]
        # paid in full: invoice.paid
        await finance.post(
            "/v1/payments",
            {
                "client_id": p.client["id"],
                "method": "bank_transfer",
                "amount_minor": late["total_minor"],
                "currency": p.site["currency"],
                "paid_on": t.isoformat(),
                "allocations": [{"invoice_id": str(late["id"]), "amount_minor": late["total_minor"]}],
            },
        )
        await mark_overdue(maker)
        await drain(maker, sender(app))
        types = rx.types("inv")
    assert types == ["invoice.overdue", "invoice.paid"]
