"""Changes during a term on the invoice (issue 11), through the API and a real run, against the
day-walking oracle: an add-on changed mid-month is prorated per day on that month's invoice; one
dated into a month already invoiced is trued up on the next (the same rule as seats); a seat move
never changes the bill, not even dated into an invoiced month."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month
from tests.billing.test_billing_api import by_kind
from tests.factories import Api, lease_body, make_world

MONITOR = 50_000


async def test_add_on_changed_mid_month_and_dated_into_an_invoiced_month(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post(
        "/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1, add_ons=[{"code": "extra_monitor", "quantity": 2}])
    )
    url = f"/v1/leases/{lease['id']}/add-ons/extra_monitor"
    # before January is invoiced: 2 monitors become 5 from the 16th
    periods = (await staff.call("PUT", url, 200, json={"quantity": 5, "effective": f"{y}-01-16"})).json()["items"]
    assert [(p["quantity"], p["start_date"], p["end_date"]) for p in periods] == [
        (2, f"{y}-01-01", f"{y}-01-15"),
        (5, f"{y}-01-16", None),
    ]
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    lines = by_kind(jan, "addon")
    assert [(x["quantity"], x["days"], x["period_days"]) for x in lines] == [(2, 15, 31), (5, 16, 31)]
    jan_rows: list[tuple[int, date | None, date | None]] = [(2, None, date(y, 1, 15)), (5, date(y, 1, 16), None)]
    jan_billed = oracle.addon_charge(MONITOR, jan_rows, date(y, 1, 1), None, y, 1)
    assert sum(x["amount_minor"] for x in lines) == jan_billed
    assert jan_billed == oracle.rhu(MONITOR * 2 * 15, 31) + oracle.rhu(MONITOR * 5 * 16, 31)

    # after January was invoiced: removed as of the 25th (back-dated), back at 1 from February 10th
    await staff.call("DELETE", url, 200, params={"effective": f"{y}-01-25"})
    periods = (await staff.call("PUT", url, 200, json={"quantity": 1, "effective": f"{y}-02-10"})).json()["items"]
    assert [(p["quantity"], p["start_date"], p["end_date"]) for p in periods] == [
        (2, f"{y}-01-01", f"{y}-01-15"),
        (5, f"{y}-01-16", f"{y}-01-24"),
        (1, f"{y}-02-10", None),
    ]
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    (up,) = by_kind(feb, "addon", trueup=True)
    jan_now = oracle.addon_charge(
        MONITOR, [(2, None, date(y, 1, 15)), (5, date(y, 1, 16), date(y, 1, 24))], date(y, 1, 1), None, y, 1
    )
    assert up["amount_minor"] == jan_now - jan_billed < 0
    assert f"{y}-01" in up["description"]
    assert "-35 add-on unit-days" in up["description"]
    (cur,) = by_kind(feb, "addon")
    feb_days = len(oracle.month_days(y, 2))
    assert (cur["quantity"], cur["days"]) == (1, feb_days - 9)
    assert cur["amount_minor"] == oracle.addon_charge(MONITOR, [(1, date(y, 2, 10), None)], date(y, 1, 1), None, y, 2)
    # the lease shows the add-on as it stands, with its dates
    view = await staff.get(f"/v1/leases/{lease['id']}")
    assert [(a["code"], a["quantity"]) for a in view["add_ons"]][-1] == ("extra_monitor", 1)

    # running February again bills nothing twice
    await run_month(finance, f"{y}-02")
    assert len(await invoices_of(finance, w.client["id"], f"{y}-02")) == 1


async def test_add_on_change_answers_clear_errors(staff: Api, client_login: Callable, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", end_date=f"{y}-06-30", seat_count=1))
    base = f"/v1/leases/{lease['id']}/add-ons"
    for path, body, field in (
        ("/power", {"quantity": 1, "effective": f"{y}-02-01"}, "code"),  # included, not an add-on
        ("/nope", {"quantity": 1, "effective": f"{y}-02-01"}, "code"),
        ("/extra_monitor", {"quantity": 1, "effective": f"{y}-07-01"}, "effective"),
        ("/extra_monitor", {"quantity": -1, "effective": f"{y}-02-01"}, "quantity"),
        ("/extra_monitor", {"quantity": 0, "effective": f"{y}-02-01"}, "quantity"),  # nothing to remove
    ):
        r = await staff.call("PUT", base + path, json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text
    stranger = await make_world(staff)
    theirs = await client_login(stranger.client["id"])
    r = await theirs.call("PUT", base + "/extra_monitor", json={"quantity": 1, "effective": f"{y}-02-01"})
    assert r.status_code == 404
    mine = await client_login(w.client["id"])
    r = await mine.call("PUT", base + "/extra_monitor", json={"quantity": 3, "effective": f"{y}-02-01"})
    assert r.status_code == 200, r.text
    assert [(p["quantity"], p["start_date"]) for p in (await mine.get(base))["items"]] == [(3, f"{y}-02-01")]


async def test_a_seat_move_never_changes_the_bill(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=2))
    held = {s["id"] for s in lease["seats"]}
    free = [s["id"] for s in w.seats if s["id"] not in held]
    first, second = sorted(held)
    await staff.post(f"/v1/leases/{lease['id']}/seat-moves", {"seat_id": first, "to_seat_id": free[0], "effective": f"{y}-01-14"})
    await run_month(finance, f"{y}-01")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    (seats,) = by_kind(jan, "seat")
    assert (seats["quantity"], seats["days"], seats["amount_minor"]) == (2, 31, 2 * 1_500_000)
    # dated into the invoiced month: no true-up at all
    await staff.post(
        f"/v1/leases/{lease['id']}/seat-moves", {"seat_id": second, "to_seat_id": free[1], "effective": f"{y}-01-20"}
    )
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert not [x for x in feb["lines"] if x["trueup"]]
    (seats,) = by_kind(feb, "seat")
    assert (seats["quantity"], seats["amount_minor"]) == (2, 2 * 1_500_000)
