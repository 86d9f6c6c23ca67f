"""Issue 11 in the admin, in headless Chromium against the real app: a plan's price history with a
dated price added (and refused inline), and a lease's own terms with a dated seat price and a yearly
escalation set on its page, the same use-cases as the API."""

from __future__ import annotations

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, lease_body, make_world


async def test_add_a_dated_plan_price_and_see_the_history(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    await login(page, await staff_login(db))
    await page.goto(f"/admin/plans/{w.plan['id']}")
    assert "PHP 15,000.00" in await text_of(page.locator("#in-force-seat"))
    # a date in the past is refused next to its field, and what was typed stays
    await page.fill("#effective_from", "2020-01-01")
    await page.fill("#monthly_price_minor", "16,500.00")
    await page.click("#add-price-btn")
    await page.locator("#effective_from-error").wait_for()
    assert "today" in await text_of(page.locator("#effective_from-error"))
    assert await page.input_value("#monthly_price_minor") == "16,500.00"
    assert await page.get_attribute("#effective_from", "aria-invalid") == "true"
    # a bad amount too
    await page.fill("#effective_from", "2041-01-01")
    await page.fill("#monthly_price_minor", "sixteen")
    await page.click("#add-price-btn")
    await page.locator("#monthly_price_minor-error").wait_for()
    # then a good one
    await page.fill("#monthly_price_minor", "16,500.00")
    await page.fill('input[name="addon.extra_monitor"]', "600")
    await page.fill('input[name="reason"]', "2041 price list")
    await page.click("#add-price-btn")
    await page.get_by_text("Price from 2041-01-01 added").wait_for()
    rows = await page.locator("#price-history tbody tr").all_inner_texts()
    assert rows[0].startswith("2041-01-01"), rows
    assert "PHP 16,500.00" in rows[0], rows
    assert "PHP 600.00" in rows[0], rows
    assert rows[-1].startswith("as created"), rows
    assert "PHP 15,000.00" in rows[-1], rows
    await shot(page, "plan-price-history")
    history = await staff.get(f"/v1/plans/{w.plan['id']}/prices")
    assert history["items"][0]["monthly_price_minor"] == 1_650_000
    assert history["items"][0]["add_on_prices"]["extra_monitor"] == 60_000


async def test_set_a_dated_seat_price_and_an_escalation_on_the_lease_page(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date="2031-01-01", end_date="2032-12-31", seat_count=1))
    await login(page, await staff_login(db))
    await page.goto(f"/admin/leases/{lease['id']}")
    assert "PHP 15,000.00" in await text_of(page.locator("#terms-seat-price"))
    # a step on the start date is refused inline
    await page.click("#price-step-form >> xpath=.. >> summary")
    await page.fill("#step_date", "2031-01-01")
    await page.fill("#step_price", "14,000.00")
    await page.click("#price-step-btn")
    await page.locator("#step_date-error").wait_for()
    assert await page.input_value("#step_price") == "14,000.00"
    await page.fill("#step_date", "2031-07-01")
    await page.click("#price-step-btn")
    await page.get_by_text("Seat price from 2031-07-01 set").wait_for()
    assert "PHP 14,000.00" in await text_of(page.locator("#price-steps"))
    # escalation: a bad value inline, then 5 %
    await page.click("#escalation-form >> xpath=.. >> summary")
    await page.fill("#escalation_pct", "five")
    await page.click("#escalation-btn")
    await page.locator("#escalation_pct-error").wait_for()
    await page.fill("#escalation_pct", "5")
    await page.click("#escalation-btn")
    await page.get_by_text("Escalation 5% a year set").wait_for()
    assert "5.00%" in await text_of(page.locator("#terms-escalation"))
    await shot(page, "lease-terms")
    terms = await staff.get(f"/v1/leases/{lease['id']}/terms")
    assert terms["escalation_pct"] == "5.00"
    assert terms["price_steps"] == [{"effective_date": "2031-07-01", "monthly_price_minor": 1_400_000, "reason": None}]


async def test_book_a_lease_with_its_notice_and_escalation_from_the_form(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    await login(page, await staff_login(db))
    await page.goto(f"/admin/leases/new?site_id={w.site['id']}&shift=DAY&start_date=2031-03-10")
    await page.select_option("#team_id", w.team["id"])
    await page.check("input[name=seat_mode][value=count]")
    await page.fill("#seat_count", "1")
    await page.fill("#notice_days", "400")  # more than a year
    await page.fill("#escalation_pct", "3")
    await page.click("#preview-btn")
    await page.locator("#notice_days-error").wait_for()
    assert await page.input_value("#escalation_pct") == "3"
    await page.fill("#notice_days", "60")
    await page.click("#preview-btn")
    await page.locator("#preview").wait_for()
    await page.click("#confirm-btn")
    await page.get_by_text("Lease booked").wait_for()
    assert "3.00%" in await text_of(page.locator("#terms-escalation"))
    lease_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    terms = await staff.get(f"/v1/leases/{lease_id}/terms")
    assert (terms["notice_days"], terms["escalation_pct"], terms["monthly_price_minor"]) == (60, "3.00", 1_500_000)
