"""Destructive actions ask first (issue 13): ending a lease asks for its last day on a page that says
what will happen, a seat's release asks for the date it is free from, going back changes nothing,
and without a browser's script a single post never destroys (the API is unchanged)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from playwright.async_api import Page

from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.factories import Api, lease_body, make_world


async def test_ending_a_lease_asks_for_its_last_day(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2035-01-01", end_date="2035-12-31"))
    url = f"/admin/leases/{lease['id']}"
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(url)
    await page.fill("#end_date", "2035-06-30")
    await page.click("#end-btn")

    # the question, what follows, and the date asked with the chosen one as its default
    question = await page.locator("#confirm-question").inner_text()
    assert f"End the lease of {w.client['legal_name']} · {w.site['code']} · DAY?" == question
    said = await page.locator("#confirm-consequences").inner_text()
    assert "Its 2 seats stay leased to the end of the day chosen" in said
    assert "The lease now runs to 2035-12-31" in said
    assert await page.input_value("#confirm-end_date") == "2035-06-30"
    await shot(page, "confirm-end-lease")
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == "2035-12-31"  # nothing changed yet

    # going back changes nothing
    await page.click("#confirm-back")
    await page.wait_for_url(re.compile(rf".*{url}$"))
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == "2035-12-31"

    # a date the lease refuses is said on the lease page at once, before asking
    await page.fill("#end_date", "2034-12-01")
    await page.click("#end-btn")
    await page.locator("#end_date-error").wait_for()
    assert await page.locator("#confirm-question").count() == 0

    # asked again, the date changed on the confirmation: that one is kept
    await page.fill("#end_date", "2035-06-30")
    await page.click("#end-btn")
    await page.fill("#confirm-end_date", "2035-07-31")
    await page.click("#confirm-btn")
    await page.get_by_text("Lease ends on 2035-07-31").wait_for()
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == "2035-07-31"
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'lease.end'", lease["id"]) == 1


async def test_releasing_a_seat_asks_from_when(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2035-03-01"))
    seat = sorted(lease["seats"], key=lambda s: s["label"])[0]
    await staff.call(
        "PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=[{"seat_id": seat["id"], "member_id": w.members[0]["id"]}]
    )
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/leases/{lease['id']}")
    await page.locator(f'#assignments tr[data-seat-label="{seat["label"]}"] .release-btn').click()
    assert f"Release seat {seat['label']}" in await page.locator("#confirm-question").inner_text()
    assert "Agent 0, who sits there, loses the seat" in await page.locator("#confirm-consequences").inner_text()
    assert await page.input_value("#confirm-effective") == "2035-03-01"  # before the start: the first day
    await page.fill("#confirm-effective", "2035-04-01")
    await shot(page, "confirm-release-seat")
    await page.click("#confirm-btn")
    await page.locator("#flash", has_text="Seat released").wait_for()
    # its last day is the day before the date chosen on the confirmation
    last = await db.fetchval(
        "SELECT end_date FROM lease_seats WHERE lease_id = $1::uuid AND seat_id = $2::uuid AND NOT voided",
        lease["id"],
        seat["id"],
    )
    assert str(last) == "2035-03-31"


async def test_no_single_post_destroys(live_http: httpx.Client, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    """What a form without the confirmation step would do, as a plain HTTP client: every first post
    answers with the question and changes nothing; only `confirmed=yes` acts."""
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2035-05-01"))
    seat = lease["seats"][0]["id"]
    email = await staff_login(db, "admin")
    assert (await asyncio.to_thread(admin_login, live_http, email)).status_code == 303
    page = await asyncio.to_thread(live_http.get, f"/admin/leases/{lease['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    csrf = token.group(1)
    for path, data in (
        (f"/admin/leases/{lease['id']}/end", {"end_date": "2035-06-30"}),
        (f"/admin/leases/{lease['id']}/cancel", {}),
        (f"/admin/leases/{lease['id']}/seats/{seat}/release", {"effective": "2035-05-10"}),
    ):
        r = await asyncio.to_thread(live_http.post, path, data={"csrf_token": csrf, **data})
        assert r.status_code == 200, (path, r.status_code)
        assert 'id="confirm-form"' in r.text
        assert 'name="confirmed" value="yes"' in r.text
    now = await staff.get(f"/v1/leases/{lease['id']}")
    assert (now["status"], now["end_date"], len(now["seats"])) == ("confirmed", None, 2)
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action <> 'lease.create'", lease["id"]) == 0
    )

    r = await asyncio.to_thread(
        live_http.post, f"/admin/leases/{lease['id']}/cancel", data={"csrf_token": csrf, "confirmed": "yes"}
    )
    assert r.status_code == 303
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] == "cancelled"
    live_http.cookies.clear()


async def test_voiding_a_payment_asks_with_its_reason(
    live_http: httpx.Client, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    today = datetime.now(ZoneInfo("Asia/Manila")).date().isoformat()
    body = {"client_id": w.client["id"], "method": "bank_transfer", "amount_minor": 1000, "currency": "PHP", "paid_on": today}
    payment = await finance.post("/v1/payments", body)
    assert (await asyncio.to_thread(admin_login, live_http, await staff_login(db, "finance"))).status_code == 303
    client_page = await asyncio.to_thread(live_http.get, f"/admin/clients/{w.client['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client_page.text)
    assert token
    url = f"/admin/payments/{payment['id']}/void"
    # the client page's "void…" posts without a reason: the question, nothing voided
    r = await asyncio.to_thread(live_http.post, url, data={"csrf_token": token.group(1)})
    assert r.status_code == 200
    assert "Void this payment?" in r.text
    assert 'id="confirm-reason"' in r.text
    # confirmed without a reason: asked again, next to the field
    r = await asyncio.to_thread(live_http.post, url, data={"csrf_token": token.group(1), "confirmed": "yes", "reason": " "})
    assert r.status_code == 422
    assert "say why it is voided" in r.text
    status = await db.fetchval("SELECT status FROM payments WHERE id = $1::uuid", payment["id"])
    assert status != "void"
    r = await asyncio.to_thread(
        live_http.post, url, data={"csrf_token": token.group(1), "confirmed": "yes", "reason": "cheque bounced"}
    )
    assert r.status_code == 303
    assert await db.fetchval("SELECT status FROM payments WHERE id = $1::uuid", payment["id"]) == "void"
    live_http.cookies.clear()
