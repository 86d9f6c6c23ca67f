"""The monthly run through the API: lines, proration, tax, numbering, idempotency, true-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.billing import oracle
from tests.billing.conftest import invoices_of, run_month, site_today
from tests.factories import Api, lease_body, make_world


def by_kind(inv: dict[str, Any], kind: str, trueup: bool = False) -> list[dict[str, Any]]:
    return [x for x in inv["lines"] if x["kind"] == kind and x["trueup"] == trueup]


async def test_month_run_bills_every_part_of_a_lease(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post(
        "/v1/leases",
        lease_body(
            w, start_date=f"{y}-01-10", seat_count=2, discount_pct="5", add_ons=[{"code": "extra_monitor", "quantity": 2}]
        ),
    )
    run = await run_month(finance, f"{y}-01")
    assert run["clients_done"] == run["clients_total"] >= 1
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    assert inv["status"] == "issued"
    assert inv["currency"] == "PHP"
    assert inv["number"] == f"{w.site['code']}-000001"
    assert inv["sequence"] == 1
    # dated the day it was issued on the site's calendar, due that day plus the client's terms (net 30);
    # it still covers January
    issued = date.fromisoformat(inv["issue_date"])
    assert issued == site_today(w.site)
    assert date.fromisoformat(inv["due_date"]) == issued + timedelta(days=30)
    assert inv["period"] == f"{y}-01"
    seats = oracle.seat_charge(1_500_000, [(date(y, 1, 10), None)] * 2, y, 1)
    (seat_line,) = by_kind(inv, "seat")
    assert (seat_line["quantity"], seat_line["days"], seat_line["period_days"]) == (2, 22, 31)
    assert seat_line["amount_minor"] == seats
    (addon,) = by_kind(inv, "addon")
    assert addon["amount_minor"] == oracle.rhu(50_000 * 2 * 22, 31)
    (disc,) = by_kind(inv, "discount")
    assert disc["amount_minor"] == -oracle.rhu((seats + addon["amount_minor"]) * 5, 100)
    assert {x["description"].split(":")[1].strip() for x in by_kind(inv, "inclusion")} == {
        "Power with UPS",
        "Shared 1 Gbps internet",
        "Desktop PC",
        "Headset",
    }
    assert all(x["amount_minor"] == 0 for x in by_kind(inv, "inclusion"))
    assert by_kind(inv, "setup_fee")[0]["amount_minor"] == 500_000
    (dep,) = by_kind(inv, "deposit")
    assert dep["amount_minor"] == 3_000_000
    assert dep["tax_minor"] == 0
    for x in inv["lines"]:
        if x["kind"] != "deposit":
            assert x["tax_minor"] == oracle.tax(x["amount_minor"], "0.12")
    assert inv["subtotal_minor"] == sum(x["amount_minor"] for x in inv["lines"])
    assert inv["tax_minor"] == sum(x["tax_minor"] for x in inv["lines"])
    assert inv["total_minor"] == inv["subtotal_minor"] + inv["tax_minor"]

    # running the month again changes nothing
    again = await run_month(finance, f"{y}-01")
    assert again["invoices_count"] == run["invoices_count"]
    (same,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    assert same == inv


async def test_changes_after_invoicing_become_dated_trueups(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-01-01", seat_count=1))
    await run_month(finance, f"{y}-01")
    # after January was invoiced: a seat added from the 20th, back-dated
    await staff.post(f"/v1/leases/{lease['id']}/seats", {"seat_count": 1, "effective": f"{y}-01-20"})
    await run_month(finance, f"{y}-02")
    (feb,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    (up,) = by_kind(feb, "seat", trueup=True)
    assert up["amount_minor"] == oracle.rhu(1_500_000 * 12, 31)
    assert f"{y}-01" in up["description"]
    assert "+12 seat-days" in up["description"]
    assert up["service_start"] == f"{y}-01-01"
    assert up["service_end"] == f"{y}-01-31"
    assert sum(x["amount_minor"] for x in by_kind(feb, "seat")) == 2 * 1_500_000
    assert not by_kind(feb, "setup_fee")
    assert not by_kind(feb, "deposit")

    # the lease is ended as of a past date inside February, after February was invoiced
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": f"{y}-02-10"}, expect=200)
    await run_month(finance, f"{y}-03")
    (mar,) = await invoices_of(finance, w.client["id"], f"{y}-03")
    assert not by_kind(mar, "seat")  # nothing for March itself
    (up,) = by_kind(mar, "seat", trueup=True)
    feb_now = oracle.seat_charge(1_500_000, [(date(y, 1, 1), date(y, 2, 10))] * 2, y, 2)
    assert up["amount_minor"] == feb_now - 2 * 1_500_000
    # the deposit comes back by credit note, once
    notes = await finance.get(f"/v1/invoices/{(await invoices_of(finance, w.client['id'], f'{y}-01'))[0]['id']}/credit-notes")
    assert [(n["kind"], n["status"], n["total_minor"]) for n in notes] == [("deposit_refund", "issued", 1_500_000)]
    await run_month(finance, f"{y}-04")
    notes = await finance.get(f"/v1/invoices/{notes[0]['invoice_id']}/credit-notes")
    assert len(notes) == 1
    assert await invoices_of(finance, w.client["id"], f"{y}-04") == []


CASES = [
    # (timezone, currency, tax, price, start (month, day), end (month, day) or None, leap year?)
    pytest.param("Pacific/Kiritimati", "USD", "0.0825", 123_457, (1, 31), (1, 31), None, id="one-day-last-of-month-utc+14"),
    pytest.param("Pacific/Pago_Pago", "JPY", "0.10", 45_000, (2, 1), (2, 29), True, id="leap-february-jpy-utc-11"),
    pytest.param("Asia/Manila", "PHP", "0.12", 1_500_000, (2, 15), None, False, id="non-leap-february-php"),
    pytest.param("America/St_Johns", "USD", "0.07", 99_999, (1, 1), (1, 1), None, id="one-day-first-of-month"),
]


@pytest.mark.parametrize(("tz", "currency", "rate", "price", "start", "end", "leap"), CASES)
async def test_edge_cases_against_the_oracle(
    staff: Api,
    finance: Api,
    fresh_year: Callable[..., int],
    tz: str,
    currency: str,
    rate: str,
    price: int,
    start: tuple[int, int],
    end: tuple[int, int] | None,
    leap: bool | None,
) -> None:
    y = fresh_year(leap=leap)
    w = await make_world(staff, timezone=tz, currency=currency, tax_rate=rate)
    plan = await staff.post(
        "/v1/plans",
        {
            "site_id": w.site["id"],
            "name": "Edge",
            "monthly_price_minor": price,
            "setup_fee_minor": 0,
            "deposit_months": 0,
            "inclusions": [],
        },
    )
    s = date(y, *start)
    e = date(y, *end) if end else None
    await staff.post(
        "/v1/leases",
        lease_body(w, plan_id=plan["id"], start_date=s.isoformat(), end_date=e.isoformat() if e else None, seat_count=3),
    )
    period = f"{y}-{start[0]:02d}"
    await run_month(finance, period)
    (inv,) = await invoices_of(finance, w.client["id"], period)
    assert inv["currency"] == currency
    expected = oracle.seat_charge(price, [(s, e)] * 3, y, start[0])
    assert inv["subtotal_minor"] == expected
    assert inv["tax_minor"] == oracle.tax(expected, rate)
    assert inv["lines"][0]["period_days"] == len(oracle.month_days(y, start[0]))


async def test_year_rollover(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff, currency="USD", tax_rate="0")
    await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-12-20", seat_count=1))
    await run_month(finance, f"{y}-12")
    await run_month(finance, f"{y + 1}-01")
    (dec,) = await invoices_of(finance, w.client["id"], f"{y}-12")
    (jan,) = await invoices_of(finance, w.client["id"], f"{y + 1}-01")
    assert by_kind(dec, "seat")[0]["amount_minor"] == oracle.rhu(1_500_000 * 12, 31)
    assert [x["amount_minor"] for x in by_kind(jan, "seat")] == [1_500_000]
    assert not [x for x in jan["lines"] if x["trueup"]]
    assert jan["sequence"] == dec["sequence"] + 1


async def test_bad_period_is_a_problem_naming_the_field(finance: Api) -> None:
    r = await finance.call("POST", "/v1/billing/runs", json={"period": "2031-13"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "period" in r.text
    r = await finance.call("GET", f"/v1/clients/{'0' * 8}-0000-0000-0000-{'0' * 12}/statements/2031-1")
    assert r.status_code == 422
    assert "period" in r.text


async def test_only_finance_runs_billing(staff: Api) -> None:
    r = await staff.call("POST", "/v1/billing/runs", json={"period": "2031-01"})
    assert r.status_code == 403


async def test_seat_added_and_released_in_the_same_month(staff: Api, finance: Api, fresh_year: Callable[..., int]) -> None:
    y = fresh_year()
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date=f"{y}-06-01", seat_count=2))
    before = {s["id"] for s in lease["seats"]}
    after = await staff.post(f"/v1/leases/{lease['id']}/seats", {"seat_count": 1, "effective": f"{y}-06-05"})
    (added,) = [s["id"] for s in after["seats"] if s["id"] not in before]
    await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{added}", expect=200, params={"effective": f"{y}-06-10"})
    await run_month(finance, f"{y}-06")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-06")
    seats = by_kind(inv, "seat")
    assert [(x["quantity"], x["days"]) for x in seats] == [(2, 30), (1, 5)]
    assert sum(x["amount_minor"] for x in seats) == oracle.seat_charge(
        1_500_000, [(date(y, 6, 1), None)] * 2 + [(date(y, 6, 5), date(y, 6, 9))], y, 6
    )
    # setup fee and deposit follow the seats held on the first day
    assert by_kind(inv, "setup_fee")[0]["quantity"] == 2
