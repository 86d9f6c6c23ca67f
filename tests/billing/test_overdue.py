"""The overdue list through the API: invoices past due on their own site's calendar with days overdue,
what is still owed after cleared payments (a held cheque does not count), the last reminder sent, the
totals per currency, paging, and finance's only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import FastAPI

from service.worker import payment_reminders
from tests.billing.ledger_setup import invoice, make_party, payment
from tests.billing.test_dunning import deliver, mail_settings, today_at
from tests.factories import Api, ClientLogin
from tests.smtp_server import smtp_server


async def test_the_overdue_list_with_days_on_each_sites_calendar_and_totals_per_currency(
    app: FastAPI, staff: Api, finance: Api, db: asyncpg.Pool, client_login: ClientLogin
) -> None:
    # one client billed by two sites a day apart on the calendar, in two currencies
    east = await make_party(staff, currency="PHP", timezone="Pacific/Kiritimati")
    west = await make_party(staff, currency="USD", timezone="Pacific/Pago_Pago", client_id=east.client["id"])
    te, tw = today_at(east), today_at(west)
    assert te != tw
    due = min(te, tw) - timedelta(days=10)
    e1 = await invoice(db, east, issue=due - timedelta(days=30), due=due)
    e2 = await invoice(db, east, issue=due - timedelta(days=20), due=due + timedelta(days=5))
    await payment(db, east, on=due, amount_minor=40_000, allocations=[(e2, 40_000, 0, None)])
    w1 = await invoice(db, west, issue=due - timedelta(days=30), due=due, seat_minor=250_000)
    cheque = [(w1, 280_000, 0, None)]
    await payment(db, west, on=tw + timedelta(days=5), amount_minor=280_000, status="held", method="cheque", allocations=cheque)
    paid = await invoice(db, west, issue=due - timedelta(days=30), due=due)
    await payment(db, west, on=due, amount_minor=112_000, allocations=[(paid, 112_000, 0, None)])
    not_yet = await invoice(db, east, issue=te - timedelta(days=1), due=te + timedelta(days=29))

    with smtp_server() as inbox:  # e1 is 10 days overdue: its 7-day reminder goes out
        await payment_reminders(app.state.sessionmaker, mail_settings(app, inbox))
        await deliver(app, inbox)

    page = await finance.get("/v1/billing/overdue", params={"client_id": east.client["id"]})
    by_id = {i["invoice_id"]: i for i in page["items"]}
    assert set(by_id) == {str(e1["id"]), str(e2["id"]), str(w1["id"])}
    assert str(paid["id"]) not in by_id
    assert str(not_yet["id"]) not in by_id
    assert by_id[str(e1["id"])]["days_overdue"] == (te - due).days
    assert by_id[str(w1["id"])]["days_overdue"] == (tw - due).days
    assert by_id[str(e2["id"])]["days_overdue"] == (te - due).days - 5
    assert by_id[str(e2["id"])]["outstanding_minor"] == 112_000 - 40_000
    assert by_id[str(e2["id"])]["status"] == "issued"
    assert by_id[str(w1["id"])]["outstanding_minor"] == 280_000  # a held cheque counts for nothing
    first = by_id[str(e1["id"])]
    assert first["reminders_sent"] == 1
    assert first["last_reminder_step_days"] == 7
    assert datetime.fromisoformat(first["last_reminder_sent_at"]) > datetime.now(UTC) - timedelta(minutes=5)
    assert first["number"] == e1["number"]
    assert first["client_name"] == east.client["legal_name"]
    assert page["totals"] == [
        {"currency": "PHP", "invoices": 2, "outstanding_minor": 112_000 + 72_000},
        {"currency": "USD", "invoices": 1, "outstanding_minor": 280_000},
    ]
    # oldest due first, one page at a time; totals stay those of the whole filter
    one = await finance.get("/v1/billing/overdue", params={"client_id": east.client["id"], "limit": 2})
    assert len(one["items"]) == 2
    assert one["next_cursor"]
    two = await finance.get(
        "/v1/billing/overdue", params={"client_id": east.client["id"], "limit": 2, "cursor": one["next_cursor"]}
    )
    assert [i["invoice_id"] for i in one["items"] + two["items"]] == [i["invoice_id"] for i in page["items"]]
    assert two["next_cursor"] is None
    assert two["totals"] == page["totals"]
    usd = await finance.get("/v1/billing/overdue", params={"client_id": east.client["id"], "currency": "USD"})
    assert [i["invoice_id"] for i in usd["items"]] == [str(w1["id"])]

    bad = await finance.call("GET", "/v1/billing/overdue", params={"cursor": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"
    # finance's list: facility staff and the client itself are refused
    await staff.get("/v1/billing/overdue", expect=403)
    owner = await client_login(east.client["id"])
    await owner.get("/v1/billing/overdue", params={"client_id": east.client["id"]}, expect=403)
