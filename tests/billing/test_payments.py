"""Payments as they really arrive (issue 12), through the API against a real PostgreSQL: allocation
in full or in part, the one settlement rule, credit balances applied and refunded (concurrently),
post-dated cheques cleared once by the worker, voids, and the problems bad input gets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import payment_worker
from billing.chart import ChartOfAccounts
from tests.billing.conftest import invoices_of, run_month
from tests.billing.payment_helpers import aging_total, balance, billed, days_from_today, manila_today, pay, status
from tests.factories import Api, ClientLogin, lease_body, make_world


async def test_partial_then_full_payment_moves_state_balance_and_aging(
    staff: Api, finance: Api, fresh_year: Callable[..., int], client_login: ClientLogin
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid, total, period = w.client["id"], inv["total_minor"], inv["period"]
    as_of = f"{period}-28"
    assert await aging_total(finance, cid, as_of) == total
    first = await pay(finance, cid, 1_000_000, [{"invoice_id": inv["id"], "amount_minor": 1_000_000}], reference="BDO-1")
    assert (first["status"], first["method"], first["allocated_minor"], first["unallocated_minor"]) == (
        "cleared",
        "bank_transfer",
        1_000_000,
        0,
    )
    assert [a["invoice_number"] for a in first["allocations"]] == [inv["number"]]
    assert await status(finance, inv["id"]) == "partially_paid"
    assert (await balance(finance, cid))["outstanding_minor"] == total - 1_000_000
    assert await aging_total(finance, cid, as_of) == total - 1_000_000
    # the rest and 500.00 more, oldest due first: the invoice is paid and 500.00 is credit
    second = await pay(finance, cid, total - 1_000_000 + 50_000, method="cash", reference="OR-7")
    assert second["allocated_minor"] == total - 1_000_000
    assert second["unallocated_minor"] == 50_000
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert (got["status"], got["paid_at"] is not None) == ("paid", True)
    bal = await balance(finance, cid)
    assert (bal["outstanding_minor"], bal["credit_minor"], bal["balance_minor"]) == (0, 50_000, -50_000)
    assert await aging_total(finance, cid, as_of) == 0
    # lists and reads: finance, and the client itself; another client sees nothing of it
    listed = await finance.get("/v1/payments", params={"client_id": cid})
    assert {p["id"] for p in listed["items"]} == {first["id"], second["id"]}
    assert (await finance.get("/v1/payments", params={"invoice_id": inv["id"]}))["items"][0]["client_id"] == cid
    own = await client_login(cid, "client_viewer")
    assert (await own.get(f"/v1/payments/{first['id']}"))["reference"] == "BDO-1"
    assert (await balance(own, cid))["credit_minor"] == 50_000
    other = await make_world(staff)
    stranger = await client_login(other.client["id"])
    await stranger.get(f"/v1/payments/{first['id']}", expect=404)
    await stranger.get(f"/v1/clients/{cid}/balance", expect=404)
    assert (await stranger.get("/v1/payments", params={"client_id": cid}))["items"] == []
    await own.call("POST", "/v1/payments", expect=403, json={})
    await staff.get(f"/v1/payments/{first['id']}", expect=403)
    # audited
    assert (await finance.get("/v1/payments/" + second["id"]))["status"] == "cleared"


async def test_bad_allocations_are_problems_naming_the_field_and_change_nothing(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    other, (foreign,) = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    base = {"client_id": cid, "method": "bank_transfer", "currency": "PHP", "paid_on": manila_today().isoformat()}

    async def problem(body: dict[str, Any], status_code: int, field: str) -> None:
        r = await finance.call("POST", "/v1/payments", json={**base, **body})
        assert r.status_code == status_code, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, r.json()

    over = inv["total_minor"] + 1
    await problem(
        {"amount_minor": over, "allocations": [{"invoice_id": inv["id"], "amount_minor": over}]},
        422,
        "allocations[0].amount_minor",
    )
    await problem(
        {"amount_minor": 100, "allocations": [{"invoice_id": foreign["id"], "amount_minor": 100}]},
        404,
        "allocations[0].invoice_id",
    )
    await problem(
        {"amount_minor": 100, "allocations": [{"invoice_id": str(uuid.uuid4()), "amount_minor": 100}]},
        404,
        "allocations[0].invoice_id",
    )
    await problem(
        {
            "amount_minor": 100,
            "currency": "USD",
            "paid_on": days_from_today(-2),
            "allocations": [{"invoice_id": inv["id"], "amount_minor": 100}],
        },
        422,
        "allocations[0].invoice_id",
    )
    await problem({"amount_minor": 100, "allocations": [{"invoice_id": inv["id"], "amount_minor": 101}]}, 422, "allocations")
    await problem(
        {"amount_minor": 200, "allocations": [{"invoice_id": inv["id"], "amount_minor": 100}] * 2},
        422,
        "allocations[1].invoice_id",
    )
    await problem(
        {"amount_minor": 100, "allocations": [{"invoice_id": inv["id"], "amount_minor": 0}]}, 422, "allocations[0].amount_minor"
    )
    await problem({"amount_minor": 100, "paid_on": days_from_today(3)}, 422, "paid_on")
    await problem({"amount_minor": 100, "method": "stripe"}, 422, "method")
    await problem({"amount_minor": 0}, 422, "amount_minor")
    await problem({"amount_minor": 100, "currency": "XYZ"}, 422, "currency")
    r = await finance.call("POST", "/v1/payments", json={**base, "client_id": str(uuid.uuid4()), "amount_minor": 100})
    assert r.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM payments WHERE client_id = $1", uuid.UUID(cid)) == 0
    assert await status(finance, inv["id"]) == "issued"
    assert other.client["id"]


async def test_two_payments_at_once_never_over_allocate_an_invoice(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    body = {"invoice_id": inv["id"], "amount_minor": inv["total_minor"]}
    answers = await asyncio.gather(
        *(
            finance.call(
                "POST",
                "/v1/payments",
                json={
                    "client_id": w.client["id"],
                    "method": "bank_transfer",
                    "amount_minor": inv["total_minor"],
                    "currency": "PHP",
                    "paid_on": manila_today().isoformat(),
                    "allocations": [body],
                },
            )
            for _ in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]  # the invoice is paid: nothing owed
    settled = await db.fetchval("SELECT sum(amount_minor) FROM payment_allocations WHERE invoice_id = $1", uuid.UUID(inv["id"]))
    assert settled == inv["total_minor"]
    assert await status(finance, inv["id"]) == "paid"


async def test_concurrent_refunds_never_overdraw_the_credit(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    await pay(finance, cid, 100_000, [])  # all of it credit
    assert (await balance(finance, cid))["credit_minor"] == 100_000
    answers = await asyncio.gather(
        *(
            finance.call(
                "POST",
                f"/v1/clients/{cid}/credit-refunds",
                json={"currency": "PHP", "amount_minor": 40_000, "reference": f"R{i}"},
            )
            for i in range(6)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 201] + [409] * 4
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["field"] == "amount_minor"
    assert (await balance(finance, cid))["credit_minor"] == 20_000
    assert await db.fetchval("SELECT sum(amount_minor) FROM credit_refunds WHERE client_id = $1", uuid.UUID(cid)) == 80_000
    assert len(await finance.get(f"/v1/clients/{cid}/credit-refunds")) == 2
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'credit.refund' AND client_id = $1", uuid.UUID(cid))
        == 2
    )
    assert inv["status"] == "issued"


async def test_credit_applied_by_hand_and_by_the_worker(
    staff: Api, finance: Api, fresh_year: Callable[..., int], app: Any
) -> None:
    w, (jan, feb) = await billed(staff, finance, fresh_year, months=2)
    cid = w.client["id"]
    await pay(finance, cid, jan["total_minor"] + 200_000, [{"invoice_id": jan["id"], "amount_minor": jan["total_minor"]}])
    assert (await balance(finance, cid))["credit_minor"] == 200_000
    made = await finance.post(
        f"/v1/clients/{cid}/credit/apply",
        {"currency": "PHP", "allocations": [{"invoice_id": feb["id"], "amount_minor": 50_000}]},
        expect=200,
    )
    assert [(a["invoice_id"], a["amount_minor"]) for a in made] == [(feb["id"], 50_000)]
    assert await status(finance, feb["id"]) == "partially_paid"
    r = await finance.call(
        "POST",
        f"/v1/clients/{cid}/credit/apply",
        json={"currency": "PHP", "allocations": [{"invoice_id": feb["id"], "amount_minor": 150_001}]},
    )
    assert (r.status_code, r.json()["field"]) == (409, "allocations")
    # the worker applies what is left, oldest due first
    await payment_worker.apply_credit_pass(app.state.sessionmaker)
    assert (await balance(finance, cid))["credit_minor"] == 0
    assert (await balance(finance, cid))["outstanding_minor"] == feb["total_minor"] - 200_000


async def test_post_dated_cheque_is_held_until_its_date_then_cleared_once(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool, app: Any
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid, total = w.client["id"], inv["total_minor"]
    cheque = await pay(finance, cid, total, method="cheque", paid_on=days_from_today(10), reference="CHQ 000123")
    assert cheque["status"] == "held"
    assert [a["amount_minor"] for a in cheque["allocations"]] == [total]
    assert await status(finance, inv["id"]) == "issued"
    bal = await balance(finance, cid)
    assert (bal["outstanding_minor"], bal["held_minor"], bal["credit_minor"]) == (total, total, 0)
    # the held cheque is spoken for: nothing else may allocate what it will pay
    r = await finance.call(
        "POST",
        "/v1/payments",
        json={"client_id": cid, "method": "cash", "amount_minor": 100, "currency": "PHP", "paid_on": manila_today().isoformat(),
              "allocations": [{"invoice_id": inv["id"], "amount_minor": 100}]},
    )  # fmt: skip
    assert (r.status_code, r.json()["field"]) == (422, "allocations[0].amount_minor")
    # not due yet: the worker leaves it alone
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    await payment_worker.run_payments(maker, None)
    assert (await finance.get(f"/v1/payments/{cheque['id']}"))["status"] == "held"
    # its date comes: two workers at once clear it exactly once
    await db.execute("UPDATE payments SET paid_on = current_date - 1 WHERE id = $1", uuid.UUID(cheque["id"]))
    results = await asyncio.gather(*(payment_worker.run_payments(maker, None) for _ in range(3)))
    assert sum(r["cheques_cleared"] for r in results) == 1
    assert (await finance.get(f"/v1/payments/{cheque['id']}"))["status"] == "cleared"
    assert await status(finance, inv["id"]) == "paid"
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'payment.clear' AND object_id = $1", cheque["id"])
        == 1
    )


async def test_a_bounced_cheque_is_voided_and_the_invoice_goes_back(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid, total = w.client["id"], inv["total_minor"]
    p = await pay(finance, cid, total + 10_000, method="cheque", reference="CHQ 9")
    assert await status(finance, inv["id"]) == "paid"
    assert (await balance(finance, cid))["credit_minor"] == 10_000
    voided = await finance.post(f"/v1/payments/{p['id']}/void", {"reason": "bounced: account closed"}, expect=200)
    assert voided["status"] == "void"
    got = await finance.get(f"/v1/invoices/{inv['id']}")
    assert (got["status"], got["paid_at"]) == ("issued", None)
    bal = await balance(finance, cid)
    assert (bal["outstanding_minor"], bal["credit_minor"]) == (total, 0)
    assert await aging_total(finance, cid, f"{inv['period']}-28") == total
    again = await finance.call("POST", f"/v1/payments/{p['id']}/void", json={"reason": "again"})
    assert again.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'payment.void' AND object_id = $1", p["id"]) == 1
    await finance.call("POST", f"/v1/payments/{uuid.uuid4()}/void", json={"reason": "x"}, expect=404)


async def test_a_credit_note_after_payment_gives_the_excess_back_as_credit(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    await pay(finance, cid, inv["total_minor"])
    assert await status(finance, inv["id"]) == "paid"
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})
    assert cn["status"] == "issued"
    assert await status(finance, inv["id"]) == "paid"
    bal = await balance(finance, cid)
    assert (bal["outstanding_minor"], bal["credit_minor"]) == (0, cn["total_minor"])


async def test_payments_idempotency_key_replays(
    staff: Api, finance: Api, fresh_year: Callable[..., int], http: httpx.AsyncClient
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    body = {
        "client_id": w.client["id"],
        "method": "bank_transfer",
        "amount_minor": 1000,
        "currency": "PHP",
        "paid_on": manila_today().isoformat(),
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    a = await finance.post("/v1/payments", body, headers=key)
    b = await finance.post("/v1/payments", body, headers=key)
    assert a == b
    assert len((await finance.get("/v1/payments", params={"client_id": w.client["id"]}))["items"]) == 1
    assert inv["id"]


async def test_a_deposit_refund_on_a_paid_invoice_becomes_the_clients_credit(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", end_date=f"{y}-01-31", seat_count=2))
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    await pay(finance, w.client["id"], jan["total_minor"])
    assert (await balance(finance, w.client["id"]))["credit_minor"] == 0
    # the lease is over: the next run gives the deposit back by credit note against the paid invoice
    await run_month(finance, f"{y}-02")
    (note,) = await finance.get(f"/v1/invoices/{jan['id']}/credit-notes")
    assert (note["kind"], note["status"]) == ("deposit_refund", "issued")
    assert await status(finance, jan["id"]) == "paid"
    bal = await balance(finance, w.client["id"])
    assert (bal["outstanding_minor"], bal["credit_minor"]) == (0, note["total_minor"])


async def test_a_payment_voided_after_its_month_is_reversed_on_the_void_day_and_its_month_stays(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    """A journal month once exported never changes: a cheque that bounces after its month keeps its
    posting there, and the void is an entry of the void's own day that undoes it (cash, receivable
    and the credit the remainder made)."""
    chart = ChartOfAccounts()
    BANK, AR, CREDIT = (chart[r].code for r in ("cash_cheque", "accounts_receivable", "customer_credit"))
    w, (inv,) = await billed(staff, finance, fresh_year)
    ref = f"CHQ-{uuid.uuid4().hex[:10]}"
    paid_on = manila_today().replace(day=1) - timedelta(days=20)  # last month
    p = await pay(
        finance,
        w.client["id"],
        1_500_000,
        [{"invoice_id": inv["id"], "amount_minor": 1_000_000}],
        method="cheque",
        paid_on=paid_on.isoformat(),
        reference=ref,
    )
    assert p["status"] == "cleared"

    async def lines(period: str) -> list[tuple[str, str, int, int]]:
        out = await finance.get("/v1/billing/journal", params={"period": period})
        mine = [ln for ln in out["lines"] if ln["reference"] == ref]
        return sorted((ln["date"], ln["account_code"], ln["debit_minor"], ln["credit_minor"]) for ln in mine)

    month = paid_on.strftime("%Y-%m")
    posted = await lines(month)
    assert [(a, d, c) for _, a, d, c in posted] == sorted([(BANK, 1_500_000, 0), (AR, 0, 1_000_000), (CREDIT, 0, 500_000)]), (
        posted
    )
    voided = (
        await finance.call("POST", f"/v1/payments/{p['id']}/void", json={"reason": "bounced: insufficient funds"}, expect=200)
    ).json()
    assert voided["status"] == "void"
    void_day = date.fromisoformat(voided["voided_on"])
    assert void_day > paid_on
    # the month it was posted in is as it was exported
    assert await lines(month) == posted
    # the void's day undoes it, balanced
    reversal = await lines(void_day.strftime("%Y-%m"))
    assert {d for d, *_ in reversal} == {void_day.isoformat()}
    assert [(a, d, c) for _, a, d, c in reversal] == sorted([(BANK, 0, 1_500_000), (AR, 1_000_000, 0), (CREDIT, 500_000, 0)]), (
        reversal
    )
    # and the invoice is open again, the credit gone
    assert await status(finance, inv["id"]) == "issued"
    assert (await balance(finance, w.client["id"]))["credit_minor"] == 0
