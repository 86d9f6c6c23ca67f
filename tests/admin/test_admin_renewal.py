"""Issue 11 on the admin's lease pages, in headless Chromium against the real app: renewal (the list
filter, renew with a new price, auto-renew, lapse), the notice period, an early termination with a
fee, and finance rejecting a pending lease with a reason. What the pages did is read back through
the API; a refusal reads the same through both edges."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login, shot
from tests.admin.test_admin_http import admin_login
from tests.admin.test_admin_lease_parity import _admin_post
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world

ONE = timedelta(days=1)


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Manila")).date()


async def _login_as(page: Page, db: asyncpg.Pool, role: str) -> None:
    email, _ = await make_user(db, role, password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))


async def test_renew_a_lease_up_for_renewal_with_a_new_price_then_set_it_to_auto_renew(
    page: Page, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    today = _today()
    soon = await staff.post(
        "/v1/leases", lease_body(w, start_date=(today - 300 * ONE).isoformat(), end_date=(today + 20 * ONE).isoformat())
    )
    later = await staff.post(
        "/v1/leases", lease_body(w, start_date=(today - 300 * ONE).isoformat(), end_date=(today + 200 * ONE).isoformat())
    )
    await _login_as(page, db, "facility_staff")

    # the list's renewal filter shows the one up for renewal, with its badge
    await page.goto(f"/admin/leases?client_id={w.client['id']}")
    assert await page.locator("#lease-table .up-for-renewal").count() == 1
    await page.select_option("#renewal-filter", "due")
    await page.click("text=Filter")
    await page.wait_for_url(re.compile(r".*renewal=due.*"))
    links = await page.locator("#lease-table a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == [f"/admin/leases/{soon['id']}"]
    assert f"/admin/leases/{later['id']}" not in links
    await shot(page, "leases-up-for-renewal")

    await page.click(f"a[href='/admin/leases/{soon['id']}']")
    await page.locator("#up-for-renewal").wait_for()
    # a bad price is named next to its field, nothing renewed
    await page.fill("#renew_seat_price", "16,500.001")
    await page.click("#renew-btn")
    await page.locator("#renew_seat_price-error").wait_for()
    assert (await staff.get(f"/v1/leases/{soon['id']}"))["term_end_date"] == (today + 20 * ONE).isoformat()
    new_end = (today + 20 * ONE + 365 * ONE).isoformat()
    await page.fill("#renew_end_date", new_end)
    await page.fill("#renew_seat_price", "16,500.00")
    await page.click("#renew-btn")
    await page.get_by_text("Lease renewed").wait_for()
    assert new_end in await page.locator("#lease-fixed-term").inner_text()
    assert await page.locator("#up-for-renewal").count() == 0
    await shot(page, "lease-renewed")
    lease = await staff.get(f"/v1/leases/{soon['id']}")
    assert (lease["term_end_date"], lease["term_start_date"]) == (new_end, (today + 21 * ONE).isoformat())
    assert {p["end_date"] for p in lease["seat_periods"]} == {new_end}
    details = await db.fetchval(
        "SELECT details FROM lease_amendments WHERE lease_id = $1 AND kind = 'renewed'", uuid.UUID(soon["id"])
    )
    assert '"seat_price_minor": 1650000' in details

    # auto-renew from now on (no longer up for renewal, the renewal section is folded)
    await page.locator("#renewal-section summary").click()
    await page.select_option("#renewal_mode", "auto")
    await page.click("#renewal-mode-btn")
    await page.get_by_text("Lease renews automatically").wait_for()
    assert await page.locator("#renewal-mode").inner_text() == "auto"
    assert (await staff.get(f"/v1/leases/{soon['id']}"))["renewal_mode"] == "auto"


async def test_set_the_notice_and_end_a_lease_early_with_a_fee(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    today = _today()
    lease = await staff.post(
        "/v1/leases", lease_body(w, start_date=(today - 100 * ONE).isoformat(), end_date=(today + 300 * ONE).isoformat())
    )
    await _login_as(page, db, "facility_staff")
    await page.goto(f"/admin/leases/{lease['id']}")

    await page.locator("#notice-section summary").click()
    await page.fill("#notice_days", "60")
    await page.click("#notice-btn")
    await page.get_by_text("Notice period set to 60 days").wait_for()
    assert "60 days" in await page.locator("#lease-notice").inner_text()
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["notice_days"] == 60

    early = (today + 30 * ONE).isoformat()
    await page.fill("#end_date", early)
    await page.fill("#early_termination_fee", "45,000.00")
    await page.click("#end-btn")
    # a fee needs a reason: said next to the reason, what was typed kept, nothing ended
    await page.locator("#reason-error").wait_for()
    assert await page.input_value("#early_termination_fee") == "45,000.00"
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == (today + 300 * ONE).isoformat()
    await page.fill("#end_reason", "client closes the site")
    await page.click("#end-btn")
    assert "PHP 45,000.00" in await page.locator("#confirm-consequences").inner_text()  # issue 13: asked first
    await page.click("#confirm-btn")
    await page.get_by_text(f"Lease ends on {early}").wait_for()
    assert "ended early" in await page.locator("#lease-fixed-term").inner_text()
    assert "PHP 45,000.00" in await page.locator("#lease-charges").inner_text()
    await shot(page, "lease-ended-early")
    (fee,) = (await staff.get(f"/v1/leases/{lease['id']}/charges"))["items"]
    assert (fee["kind"], fee["amount_minor"]) == ("termination_fee", 4_500_000)


async def test_finance_rejects_a_pending_lease_with_a_reason(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    pending = await staff.post("/v1/leases", lease_body(w, start_date="2031-04-01", discount_pct="30"))
    assert pending["status"] == "pending_approval"
    await _login_as(page, db, "finance")
    await page.goto(f"/admin/leases/{pending['id']}")
    await page.click("#reject-btn")
    await page.locator("#reject_reason-error").wait_for()
    assert (await staff.get(f"/v1/leases/{pending['id']}"))["status"] == "pending_approval"
    await page.fill("#reject_reason", "30% needs a three-year term")
    await page.click("#reject-btn")
    await page.get_by_text("Lease rejected").wait_for()
    assert await page.locator("#rejection-reason").inner_text() == "30% needs a three-year term"
    lease = await staff.get(f"/v1/leases/{pending['id']}")
    assert (lease["status"], lease["rejection_reason"]) == ("cancelled", "30% needs a three-year term")


async def test_a_renewal_refused_reads_the_same_in_the_api_and_the_admin(
    live_http: httpx.Client, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    seat = w.seats[0]["id"]
    body = lease_body(w, start_date="2031-01-01", end_date="2031-06-30", seat_ids=[seat])
    body.pop("seat_count")
    lease = await staff.post("/v1/leases", body)
    await staff.post("/v1/leases", {**body, "start_date": "2031-07-01", "end_date": None})
    api = await staff.call("POST", f"/v1/leases/{lease['id']}/renew", 409, json={})
    detail = api.json()["detail"]
    assert "after the term end" in detail
    assert api.json()["taken_seats"] == [w.seats[0]["label"]]  # the 409 names the seat (issue 14)
    assert w.seats[0]["label"] in detail
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    admin_login(live_http, email)
    r = _admin_post(live_http, lease["id"], "renew", {"renew_end_date": "2031-12-31"})
    assert r.status_code == 422
    assert html.escape(detail) in r.text
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["term_end_date"] == "2031-06-30"
    # facility staff do not approve, nor reject
    r = _admin_post(live_http, lease["id"], "reject", {"reject_reason": "x"})
    assert r.status_code == 403
