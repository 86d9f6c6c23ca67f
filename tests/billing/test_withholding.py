"""Withholding tax (issue 12): a client's rate set by finance (audited), a payment short by exactly
the withheld amount settles the invoice with the withheld part recorded, certificates marked received
per quarter, and the report of the missing ones (JSON and CSV)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable

import asyncpg

from tests.billing import oracle
from tests.billing.payment_helpers import balance, billed, manila_today, pay, status
from tests.factories import Api, ClientLogin


def withholding(inv: dict[str, object], rate: str) -> int:
    """The slow way: rate × the rent before VAT (deposit lines aside), half up."""
    lines = inv["lines"]
    assert isinstance(lines, list)
    base = sum(x["amount_minor"] for x in lines if x["kind"] != "deposit")
    return oracle.tax(base, rate)


async def test_withholding_rate_is_finances_audited_and_checked(
    staff: Api, finance: Api, fresh_year: Callable[..., int], db: asyncpg.Pool
) -> None:
    w, _ = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    got = (await finance.call("PATCH", f"/v1/clients/{cid}", json={"withholding_rate": "0.05"}, expect=200)).json()
    assert got["withholding_rate"] == "0.05"
    assert (await staff.get(f"/v1/clients/{cid}"))["withholding_rate"] == "0.05"
    after = await db.fetchval(
        "SELECT after->>'withholding_rate' FROM audit_events WHERE action = 'client.update' AND object_id = $1"
        " ORDER BY id DESC LIMIT 1",
        cid,
    )
    assert after == "0.05"
    for body, code, field in (
        ({"withholding_rate": "1"}, 422, "withholding_rate"),
        ({"withholding_rate": 0.05}, 422, "withholding_rate"),
        ({"withholding_rate": "-0.01"}, 422, "withholding_rate"),
        ({"withholding_rate": "0.123456"}, 422, "withholding_rate"),
        ({"withholding_rate": None}, 422, "withholding_rate"),
        ({"legal_name": "Renamed by finance"}, 403, "legal_name"),
    ):
        r = await finance.call("PATCH", f"/v1/clients/{cid}", json=body)
        assert (r.status_code, r.json().get("field")) == (code, field), (body, r.text)
    r = await staff.call("PATCH", f"/v1/clients/{cid}", json={"withholding_rate": "0"})
    assert (r.status_code, r.json()["field"]) == (403, "withholding_rate")
    assert (await staff.call("PATCH", f"/v1/clients/{cid}", json={"seat_cap": 5})).status_code == 200
    assert (await finance.get(f"/v1/clients/{cid}"))["withholding_rate"] == "0.05"


async def test_a_payment_short_by_the_withheld_tax_settles_and_the_certificate_is_chased(
    staff: Api, finance: Api, fresh_year: Callable[..., int], client_login: ClientLogin
) -> None:
    w, (jan, feb) = await billed(staff, finance, fresh_year, months=2)
    cid = w.client["id"]
    await finance.call("PATCH", f"/v1/clients/{cid}", json={"withholding_rate": "0.05"}, expect=200)
    wht_jan, wht_feb = withholding(jan, "0.05"), withholding(feb, "0.05")
    assert wht_jan > 0
    # January: the client pays the invoice less 5% of the rent before VAT, oldest due first
    p = await pay(finance, cid, jan["total_minor"] - wht_jan)
    (alloc,) = p["allocations"]
    assert (alloc["invoice_id"], alloc["amount_minor"], alloc["withheld_minor"]) == (
        jan["id"],
        jan["total_minor"] - wht_jan,
        wht_jan,
    )
    assert p["unallocated_minor"] == 0
    assert await status(finance, jan["id"]) == "paid"
    # February: a first part, then the rest short by exactly the withholding (named explicitly)
    await pay(finance, cid, 1_000_000, [{"invoice_id": feb["id"], "amount_minor": 1_000_000}])
    assert await status(finance, feb["id"]) == "partially_paid"
    rest = feb["total_minor"] - 1_000_000 - wht_feb
    last = await pay(finance, cid, rest, [{"invoice_id": feb["id"], "amount_minor": rest}])
    assert last["allocations"][0]["withheld_minor"] == wht_feb
    assert await status(finance, feb["id"]) == "paid"
    bal = await balance(finance, cid)
    assert (bal["outstanding_minor"], bal["credit_minor"], bal["withheld_minor"]) == (0, 0, wht_jan + wht_feb)
    # the quarter's certificate is missing: the report says so, in minor units and in CSV major units
    today = manila_today()
    quarter = (today.month - 1) // 3 + 1
    report = await finance.get("/v1/reports/withholding-certificates/missing", params={"client_id": cid})
    assert [(r["year"], r["quarter"], r["currency"], r["withheld_minor"], r["payments"]) for r in report["items"]] == [
        (today.year, quarter, "PHP", wht_jan + wht_feb, 2)
    ]
    r = await finance.call("GET", "/v1/reports/withholding-certificates/missing", headers={"Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = [x for x in csv.DictReader(io.StringIO(r.text)) if x["client_id"] == cid]
    assert [(x["currency"], x["withheld"]) for x in rows] == [("PHP", f"{(wht_jan + wht_feb) / 100:.2f}")]
    await staff.get("/v1/reports/withholding-certificates/missing", expect=403)
    # finance marks the certificate received: the client leaves the report; twice is a 409
    cert = await finance.post(
        f"/v1/clients/{cid}/withholding-certificates",
        {"year": today.year, "quarter": quarter, "received_on": today.isoformat(), "reference": "2307-0001"},
    )
    assert (cert["year"], cert["quarter"], cert["reference"]) == (today.year, quarter, "2307-0001")
    assert (await finance.get("/v1/reports/withholding-certificates/missing", params={"client_id": cid}))["items"] == []
    dup = await finance.call(
        "POST",
        f"/v1/clients/{cid}/withholding-certificates",
        json={"year": today.year, "quarter": quarter, "received_on": today.isoformat()},
    )
    assert (dup.status_code, dup.json()["field"]) == (409, "quarter")
    bad = await finance.call(
        "POST", f"/v1/clients/{cid}/withholding-certificates", json={"year": today.year, "quarter": 5, "received_on": "x"}
    )
    assert bad.status_code == 422
    own = await client_login(cid, "client_viewer")
    assert [c["id"] for c in await own.get(f"/v1/clients/{cid}/withholding-certificates")] == [cert["id"]]
    await own.get(f"/v1/clients/{uuid.uuid4()}/withholding-certificates", expect=404)


async def test_a_client_that_pays_gross_can_be_recorded_without_withholding(
    staff: Api, finance: Api, fresh_year: Callable[..., int]
) -> None:
    w, (inv,) = await billed(staff, finance, fresh_year)
    cid = w.client["id"]
    await finance.call("PATCH", f"/v1/clients/{cid}", json={"withholding_rate": "0.02"}, expect=200)
    p = await pay(
        finance, cid, inv["total_minor"], [{"invoice_id": inv["id"], "amount_minor": inv["total_minor"], "withheld_minor": 0}]
    )
    assert p["allocations"][0]["withheld_minor"] == 0
    assert await status(finance, inv["id"]) == "paid"
    assert (await balance(finance, cid))["withheld_minor"] == 0
