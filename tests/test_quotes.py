"""POST /v1/quotes: a lease's price from billing's own rules, for anyone who may book, with nothing written."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.billing.conftest import invoices_of, run_month
from tests.factories import Api, ClientLogin, lease_body, make_world, uniq


async def _fingerprint(db: asyncpg.Pool) -> dict[str, str]:
    """Every table's rows, hashed: what a write of any kind would change."""
    tables = [
        r["relname"]
        for r in await db.fetch("SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname")
    ]
    out = {}
    async with db.acquire() as conn:
        for t in tables:
            out[t] = await conn.fetchval(f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{t}\" x")
    return out


async def test_a_quote_prices_the_first_invoice_and_a_full_month_and_writes_nothing(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    body = lease_body(
        w,
        shift="NIGHT",
        start_date="2031-03-10",
        seat_count=2,
        add_ons=[{"code": "extra_monitor", "quantity": 2}],
    )
    before = await _fingerprint(db)
    q = await staff.post("/v1/quotes", body, expect=200)
    assert await _fingerprint(db) == before
    # the numbers the admin's preview shows for this booking (tests/admin/test_admin_browser.py)
    first = q["first_invoice"]
    assert q["currency"] == "PHP"
    assert first["period"] == "2031-03"
    amounts = {x["kind"]: x["amount_minor"] for x in first["lines"]}
    assert amounts == {"seat": 2_129_032, "addon": 70_968, "setup_fee": 500_000, "deposit": 3_000_000}
    assert first["total_minor"] == 6_024_000
    assert q["deposit_minor"] == 3_000_000
    assert q["full_month"]["period"] == "2031-04"
    assert q["full_month"]["subtotal_minor"] == 3_100_000
    assert q["full_month"]["tax_minor"] == 372_000
    assert [x["kind"] for x in q["full_month"]["lines"]] == ["seat", "addon"]
    # a fixed term that ends within the month has no full month after it
    q2 = await staff.post("/v1/quotes", lease_body(w, start_date="2031-03-10", end_date="2031-03-20"), expect=200)
    assert q2["full_month"] is None


async def test_a_quote_is_what_the_invoice_then_bills(staff: Api, finance: Api) -> None:
    y = 2117
    w = await make_world(staff)
    body = lease_body(
        w, start_date=f"{y}-01-10", seat_count=3, discount_pct="5", add_ons=[{"code": "extra_monitor", "quantity": 1}]
    )
    q = await staff.post("/v1/quotes", body, expect=200)
    await staff.post("/v1/leases", body)
    await run_month(finance, f"{y}-01")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-01")
    assert inv["total_minor"] == q["first_invoice"]["total_minor"]
    assert inv["tax_minor"] == q["first_invoice"]["tax_minor"]
    await run_month(finance, f"{y}-02")
    (inv2,) = await invoices_of(finance, w.client["id"], f"{y}-02")
    assert inv2["subtotal_minor"] == q["full_month"]["subtotal_minor"]
    assert inv2["total_minor"] == q["full_month"]["total_minor"]


async def test_who_may_ask_for_a_quote(staff: Api, finance: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    owner = await client_login(w.client["id"])
    q = await owner.post("/v1/quotes", lease_body(w, seat_count=1), expect=200)
    assert q["seats"] == 1
    # a client sets no discount, even in a quote
    r = await owner.call("POST", "/v1/quotes", json=lease_body(w, discount_pct="0"))
    assert r.status_code == 403
    assert "discount_pct" in r.text
    # another client's quote is 404, a viewer and finance may not book so may not quote
    other = await staff.post("/v1/clients", {"legal_name": f"Other {uniq()}", "billing_email": "ap@o-example.com"})
    await (await client_login(other["id"])).post("/v1/quotes", lease_body(w), expect=404)
    await (await client_login(w.client["id"], "client_viewer")).post("/v1/quotes", lease_body(w), expect=403)
    await finance.post("/v1/quotes", lease_body(w), expect=403)
    # a client may not book a start in the past, so gets no quote for one either; staff do
    r = await owner.call("POST", "/v1/quotes", json=lease_body(w, start_date="2020-01-01"))
    assert r.status_code == 422
    assert "start_date" in r.text
    await staff.post("/v1/quotes", lease_body(w, start_date="2020-01-01"), expect=200)


async def test_bad_quotes_are_problems_naming_the_field(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"seat_count": 3}, "seat_count"),
        ({"plan_id": w.client["id"]}, "plan_id"),
        ({"shift": "LUNCH"}, "shift"),
        ({"start_date": "2031-02-30"}, "start_date"),
        ({"add_ons": [{"code": "power", "quantity": 1}]}, "add_ons"),
    ]
    for kw, field in cases:
        r = await staff.call("POST", "/v1/quotes", json=lease_body(w, **kw))
        assert r.status_code == 422, (kw, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (kw, r.text)
