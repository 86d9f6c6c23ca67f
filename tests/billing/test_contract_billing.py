"""The billing oracle for issue 11's notice, early termination and renewal, through real runs:
a notice-limited end, an early-termination fee on the next invoice, a renewal across a year
boundary billed with no gap and no month twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, ClientLogin, lease_body, make_world

PRICE = 1_500_000
ONE = timedelta(days=1)


def _lines(inv: dict[str, Any], kind: str, lease_id: str, *, trueup: bool | None = None) -> list[dict[str, Any]]:
    return [
        x
        for x in inv["lines"]
        if x["kind"] == kind and x.get("lease_id") in (lease_id, None) and (trueup is None or x["trueup"] == trueup)
    ]


def _sum(lines: list[dict[str, Any]]) -> int:
    return sum(int(x["amount_minor"]) for x in lines)


async def test_a_notice_limited_end_is_billed_to_the_notice_date(staff: Api, finance: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    today = datetime.now(ZoneInfo(w.site["timezone"])).date()
    client = await client_login(w.client["id"])
    start = today - 40 * ONE
    lease = await staff.post("/v1/leases", lease_body(w, start_date=start.isoformat(), seat_count=1, shift="FULL"))
    await staff.call("PUT", f"/v1/leases/{lease['id']}/notice", 200, json={"notice_days": 45})
    earliest = today + 45 * ONE
    r = await client.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": (earliest - ONE).isoformat()})
    assert r.status_code == 422
    assert r.json()["earliest_end_date"] == earliest.isoformat()
    await client.post(f"/v1/leases/{lease['id']}/end", {"end_date": earliest.isoformat()}, expect=200)

    period = earliest.strftime("%Y-%m")
    await run_month(finance, period)
    (inv,) = [i for i in await invoices_of(finance, w.client["id"], period) if i["currency"] == "PHP"]
    seat = _lines(inv, "seat", lease["id"], trueup=False)
    assert _sum(seat) == oracle.seat_charge(PRICE, [(start, earliest)], earliest.year, earliest.month)
    assert [x["days"] for x in seat] == [earliest.day]
    for x in inv["lines"]:
        if x["kind"] != "deposit":
            assert x["tax_minor"] == oracle.tax(x["amount_minor"], "0.12")
    # nothing after the notice date
    after = (earliest.replace(day=1) + 32 * ONE).strftime("%Y-%m")
    await run_month(finance, after)
    later = await invoices_of(finance, w.client["id"], after)
    assert not [x for i in later for x in _lines(i, "seat", lease["id"], trueup=False)]


async def test_an_early_termination_fee_is_a_line_of_the_next_invoice_once(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", end_date=f"{y}-12-31", seat_count=2))
    await run_month(finance, f"{y}-01")
    await staff.post(
        f"/v1/leases/{lease['id']}/end",
        {"end_date": f"{y}-02-14", "reason": "campaign cancelled", "early_termination_fee_minor": 2 * PRICE},
        expect=200,
    )
    await run_month(finance, f"{y}-02")
    await run_month(finance, f"{y}-02")  # a re-run bills nothing twice
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    (fee,) = _lines(feb, "termination_fee", lease["id"])
    assert (fee["amount_minor"], fee["tax_minor"], fee["quantity"]) == (2 * PRICE, oracle.tax(2 * PRICE, "0.12"), 1)
    assert "campaign cancelled" in fee["description"]
    # February's seats to the 14th; the fee does not replace them
    days = len(oracle.month_days(y, 2))
    assert _sum(_lines(feb, "seat", lease["id"], trueup=False)) == oracle.seat_charge(
        PRICE, [(date(y, 1, 1), date(y, 2, 14))] * 2, y, 2
    )
    assert feb["subtotal_minor"] == sum(x["amount_minor"] for x in feb["lines"])
    assert feb["total_minor"] == feb["subtotal_minor"] + feb["tax_minor"]
    (charge,) = (await finance.get(f"/v1/leases/{lease['id']}/charges"))["items"]
    assert charge["invoice_id"] == feb["id"]
    assert days in (28, 29)

    await run_month(finance, f"{y}-03")
    march = await invoices_of(finance, w.client["id"], f"{y}-03")
    assert not [x for i in march for x in _lines(i, "termination_fee", lease["id"])]
    assert not [x for i in march for x in _lines(i, "seat", lease["id"], trueup=False)]


async def test_a_renewal_across_the_year_boundary_bills_no_gap_and_no_month_twice(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    assert fresh_year() == y + 1, "the run bills January of the next year too: it must be this test's"
    w = await make_world(staff)
    # a six-month term from mid-July to mid-January, renewed after January was invoiced
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-07-16", end_date=f"{y + 1}-01-15", seat_count=3))
    await run_month(finance, f"{y}-12")
    await run_month(finance, f"{y + 1}-01")
    renewed = (await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 200, json={})).json()
    assert (renewed["term_start_date"], renewed["end_date"]) == (f"{y + 1}-01-16", f"{y + 1}-07-15")
    await run_month(finance, f"{y + 1}-02")
    await run_month(finance, f"{y + 1}-02")

    (dec,) = await invoices_of(finance, w.client["id"], f"{y}-12")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y + 1}-01")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y + 1}-02")
    held: list[tuple[date, date | None]] = [(date(y, 7, 16), date(y + 1, 7, 15))] * 3
    assert _sum(_lines(dec, "seat", lease["id"], trueup=False)) == oracle.seat_charge(PRICE, held, y, 12) == 3 * PRICE
    # January was invoiced to the old term end (the 15th) ...
    jan_billed = _sum(_lines(jan, "seat", lease["id"], trueup=False))
    assert jan_billed == oracle.seat_charge(PRICE, [(date(y, 7, 16), date(y + 1, 1, 15))] * 3, y + 1, 1)
    # ... and February's invoice trues up exactly the renewed rest of January: no gap, nothing twice
    jan_trueup = _sum([x for x in _lines(feb, "seat", lease["id"], trueup=True)])
    assert jan_billed + jan_trueup == oracle.seat_charge(PRICE, held, y + 1, 1) == 3 * PRICE
    assert _sum(_lines(feb, "seat", lease["id"], trueup=False)) == oracle.seat_charge(PRICE, held, y + 1, 2) == 3 * PRICE
    # no second setup fee or deposit for the renewal
    assert not _lines(feb, "setup_fee", lease["id"])
    assert not _lines(feb, "deposit", lease["id"])
    for x in feb["lines"]:
        assert x["tax_minor"] == oracle.tax(x["amount_minor"], "0.12")
