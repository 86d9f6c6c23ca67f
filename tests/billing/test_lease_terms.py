"""Issue 11, terms that hold, through the API and real billing runs: a lease keeps the prices it was
booked at; a plan's new price (or any edit of the plan's rows) moves no issued invoice and no true-up;
plan prices are dated with history; escalation and dated seat prices are invoiced day by day."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, ClientLogin, lease_body, make_world


def seat_lines(inv: dict[str, Any], lease_id: str) -> list[dict[str, Any]]:
    return [x for x in inv["lines"] if x["kind"] == "seat" and not x["trueup"] and x.get("lease_id", lease_id) == lease_id]


def trueups(inv: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for x in inv["lines"] if x["trueup"]]


async def test_a_plan_edit_moves_no_issued_invoice_nor_true_up(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Any
) -> None:
    """Any change to the plan's own rows (its seat price, setup fee, deposit, add-on unit price)
    after a month was invoiced: the next month bills the lease at the price it was booked at, with
    no true-up for the invoiced month, and the issued invoice reads the same."""
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post(
        "/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2, add_ons=[{"code": "extra_monitor", "quantity": 1}])
    )
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    await db.execute(
        "UPDATE plans SET monthly_price_minor = 2_000_000, setup_fee_minor = 999_999, deposit_months = 3 WHERE id = $1",
        uuid.UUID(w.plan["id"]),
    )
    await db.execute("UPDATE inclusions SET unit_price_minor = 90_000 WHERE plan_id = $1", uuid.UUID(w.plan["id"]))
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert trueups(feb) == []
    (seat,) = [x for x in feb["lines"] if x["kind"] == "seat"]
    (addon,) = [x for x in feb["lines"] if x["kind"] == "addon"]
    assert (seat["unit_price_minor"], seat["amount_minor"]) == (1_500_000, 3_000_000)
    assert (addon["unit_price_minor"], addon["amount_minor"]) == (50_000, 50_000)
    assert await finance.get(f"/v1/invoices/{jan['id']}") == jan
    got = await staff.get(f"/v1/leases/{lease['id']}")
    assert (got["monthly_price_minor"], got["setup_fee_minor"], got["deposit_months"]) == (1_500_000, 250_000, 1)
    assert got["add_ons"][0]["unit_price_minor"] == 50_000


async def test_a_dated_plan_price_reaches_new_leases_only(staff: Api, finance: Api, fresh_year: Any) -> None:
    y = fresh_year()
    w = await make_world(staff)
    old = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    price = await staff.post(
        f"/v1/plans/{w.plan['id']}/prices",
        {
            "effective_from": f"{y}-01-10",
            "monthly_price_minor": 1_800_000,
            "add_on_prices": [{"code": "extra_monitor", "unit_price_minor": 60_000}],
            "reason": "2040 price list",
        },
    )
    assert (price["effective_from"], price["monthly_price_minor"], price["setup_fee_minor"], price["deposit_months"]) == (
        f"{y}-01-10",
        1_800_000,
        250_000,  # kept from the price in force
        1,
    )
    assert price["add_on_prices"] == {"extra_monitor": 60_000}
    before = await staff.post(
        "/v1/leases",
        lease_body(w, start_date=f"{y}-01-09", seat_count=1, add_ons=[{"code": "extra_monitor", "quantity": 1}]),
    )
    new = await staff.post(
        "/v1/leases",
        lease_body(w, start_date=f"{y}-01-10", seat_count=1, add_ons=[{"code": "extra_monitor", "quantity": 1}]),
    )
    assert (before["monthly_price_minor"], before["add_ons"][0]["unit_price_minor"]) == (1_500_000, 50_000)
    assert (new["monthly_price_minor"], new["add_ons"][0]["unit_price_minor"]) == (1_800_000, 60_000)
    history = await finance.get(f"/v1/plans/{w.plan['id']}/prices")
    assert [(x["effective_from"], x["monthly_price_minor"]) for x in history["items"]] == [
        (f"{y}-01-10", 1_800_000),
        (None, 1_500_000),
    ]
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    by_lease = {x["lease_id"]: x for x in feb["lines"] if x["kind"] == "seat" and not x["trueup"]}
    assert by_lease[old["id"]]["unit_price_minor"] == 1_500_000
    assert by_lease[new["id"]]["unit_price_minor"] == 1_800_000
    assert not [x for x in trueups(feb) if x["lease_id"] == old["id"]]


async def test_plan_price_errors_and_roles(staff: Api, finance: Api, client_login: ClientLogin, fresh_year: Any) -> None:
    y = fresh_year()
    w = await make_world(staff)
    path = f"/v1/plans/{w.plan['id']}/prices"
    r = await staff.call("POST", path, 422, json={"effective_from": "2020-01-01", "monthly_price_minor": 1})
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "effective_from" in r.text
    r = await staff.call(
        "POST",
        path,
        422,
        json={"effective_from": f"{y}-01-01", "monthly_price_minor": 1, "add_on_prices": [{"code": "pc", "unit_price_minor": 5}]},
    )
    assert "add_on_prices" in r.text
    await staff.post(path, {"effective_from": f"{y}-01-01", "monthly_price_minor": 1})
    r = await staff.call("POST", path, 409, json={"effective_from": f"{y}-01-01", "monthly_price_minor": 2})
    assert "effective_from" in r.text
    await finance.call("POST", path, 403, json={"effective_from": f"{y}-02-01", "monthly_price_minor": 2})
    client = await client_login(w.client["id"])
    await client.call("POST", path, 403, json={"effective_from": f"{y}-02-01", "monthly_price_minor": 2})
    await client.call("GET", path, 403)
    await staff.call("GET", f"/v1/plans/{uuid.uuid4()}/prices", 404)


async def test_new_leases_copy_the_plans_notice_period_unless_staff_set_one(
    staff: Api, client_login: ClientLogin, fresh_year: Any
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    plan = await staff.post(
        "/v1/plans", {"site_id": w.site["id"], "name": "Ninety", "monthly_price_minor": 100, "notice_days": 90}
    )
    assert plan["notice_days"] == 90
    a = await staff.post("/v1/leases", lease_body(w, plan_id=plan["id"], start_date=f"{y}-01-01", seat_count=1))
    b = await staff.post("/v1/leases", lease_body(w, plan_id=plan["id"], start_date=f"{y}-01-01", seat_count=1, notice_days=45))
    assert (a["notice_days"], b["notice_days"]) == (90, 45)
    client = await client_login(w.client["id"])
    for term, value in (("notice_days", 10), ("escalation_pct", "5"), ("price_steps", [])):
        r = await client.call(
            "POST", "/v1/leases", 403, json=lease_body(w, start_date=f"{y}-02-01", seat_count=1, **{term: value})
        )
        assert term in r.text


async def test_escalation_across_an_anniversary_mid_month_is_invoiced_day_by_day(
    staff: Api, finance: Api, client_login: ClientLogin, fresh_year: Any
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-03-15", seat_count=2, escalation_pct="5"))
    assert lease["escalation_pct"] == "5.00"
    await run_month(finance, f"{y + 1}-03")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y + 1}-03")
    lines = [
        (x["service_start"], x["service_end"], x["unit_price_minor"], x["amount_minor"])
        for x in inv["lines"]
        if x["kind"] == "seat"
    ]
    assert lines == [
        (f"{y + 1}-03-01", f"{y + 1}-03-14", 1_500_000, oracle.rhu(1_500_000 * 2 * 14, 31)),
        (f"{y + 1}-03-15", f"{y + 1}-03-31", 1_575_000, oracle.rhu(1_575_000 * 2 * 17, 31)),
    ]
    # the client reads its own lease's terms; another client's is a 404
    mine = await client_login(w.client["id"])
    terms = await mine.get(f"/v1/leases/{lease['id']}/terms")
    assert (terms["monthly_price_minor"], terms["escalation_pct"], terms["notice_days"]) == (1_500_000, "5.00", 30)
    other = await make_world(staff)
    await (await client_login(other.client["id"])).call("GET", f"/v1/leases/{lease['id']}/terms", 404)
    await mine.call("PUT", f"/v1/leases/{lease['id']}/escalation", 403, json={"escalation_pct": "1"})


async def test_a_dated_seat_price_after_invoicing_is_trued_up_and_audited(
    staff: Api, finance: Api, admin: Api, fresh_year: Any
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    r = await staff.call(
        "POST", f"/v1/leases/{lease['id']}/price-steps", 422, json={"effective_date": f"{y}-01-01", "monthly_price_minor": 1}
    )
    assert "effective_date" in r.text
    terms = await staff.post(
        f"/v1/leases/{lease['id']}/price-steps",
        {"effective_date": f"{y}-01-17", "monthly_price_minor": 1_200_000, "reason": "negotiated"},
    )
    assert terms["price_steps"] == [{"effective_date": f"{y}-01-17", "monthly_price_minor": 1_200_000, "reason": "negotiated"}]
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    (up,) = [x for x in trueups(feb) if x["kind"] == "seat"]
    assert up["amount_minor"] == oracle.rhu(1_500_000 * 16, 31) + oracle.rhu(1_200_000 * 15, 31) - 1_500_000
    (seat,) = [x for x in feb["lines"] if x["kind"] == "seat" and not x["trueup"]]
    assert seat["unit_price_minor"] == 1_200_000
    audit = await admin.get("/v1/audit-events", params={"object_id": lease["id"]})
    assert "lease.price_step" in {e["action"] for e in audit["items"]}
    # replaced on the same date, then removed
    terms = await staff.post(
        f"/v1/leases/{lease['id']}/price-steps", {"effective_date": f"{y}-01-17", "monthly_price_minor": 1_300_000}
    )
    assert [s["monthly_price_minor"] for s in terms["price_steps"]] == [1_300_000]
    r = await staff.call("DELETE", f"/v1/leases/{lease['id']}/price-steps/{y}-01-17", 200)
    assert r.json()["price_steps"] == []


async def test_two_staff_adding_a_price_for_the_same_date_at_once(staff: Api, fresh_year: Any) -> None:
    """The unique key decides: one is added, the other is a 409 naming effective_from; one row."""
    import asyncio

    y = fresh_year()
    w = await make_world(staff)
    path = f"/v1/plans/{w.plan['id']}/prices"
    answers = await asyncio.gather(
        *(
            staff.call("POST", path, json={"effective_from": f"{y}-05-01", "monthly_price_minor": p})
            for p in (1_600_000, 1_700_000)
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    (conflict,) = [r for r in answers if r.status_code == 409]
    assert conflict.json()["field"] == "effective_from"
    history = await staff.get(path)
    assert [x["effective_from"] for x in history["items"]] == [f"{y}-05-01", None]


async def test_the_plan_shows_its_prices_in_force_today(staff: Api) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    w = await make_world(staff)
    today = datetime.now(ZoneInfo(w.site["timezone"])).date().isoformat()
    await staff.post(
        f"/v1/plans/{w.plan['id']}/prices",
        {
            "effective_from": today,
            "monthly_price_minor": 1_700_000,
            "add_on_prices": [{"code": "extra_monitor", "unit_price_minor": 70_000}],
        },
    )
    await staff.post(f"/v1/plans/{w.plan['id']}/prices", {"effective_from": "2199-01-01", "monthly_price_minor": 9})
    plan = await staff.get(f"/v1/plans/{w.plan['id']}")
    assert (plan["monthly_price_minor"], plan["setup_fee_minor"], plan["deposit_months"]) == (1_700_000, 250_000, 1)
    assert {i["code"]: i["unit_price_minor"] for i in plan["inclusions"]}["extra_monitor"] == 70_000
    listed = await staff.get("/v1/plans", params={"site_id": w.site["id"]})
    assert [p["monthly_price_minor"] for p in listed["items"]] == [1_700_000]
