"""Booking from the client portal (issue 14): the price preview is the API's quote, line by line, the
booking the API's use-case as a client (no discount field at all, the seat cap, no past start), and a
proposal the facility sent is accepted into the same seats."""

from __future__ import annotations

import re

from playwright.async_api import Page

from domain.rules.money import format_money
from tests.browser import shot
from tests.factories import Api, ClientLogin, lease_body
from tests.portal.conftest import PortalClient, login
from tests.portal.helpers import days


async def test_a_client_admin_books_seats_after_the_price_preview(
    page: Page, staff: Api, portal_client: PortalClient, client_login: ClientLogin
) -> None:
    w = portal_client.world
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.click("nav >> text=Book seats")
    await page.wait_for_url(re.compile(r".*/portal/book$"))
    await page.select_option("#site_id", w.site["id"])
    await page.wait_for_url(re.compile(rf".*/portal/book\?site_id={w.site['id']}$"))  # its plans and shifts
    await page.select_option("#team_id", w.team["id"])
    await page.select_option("#shift", "NIGHT")
    await page.fill("#start_date", days(-1))
    await page.fill("#seat_count", "3")
    await page.fill(f"#addon\\.{w.plan['id']}\\.extra_monitor", "2")
    await page.click("#preview-btn")
    # a client's lease cannot start in the past: the quote's refusal, next to the date
    assert await page.locator("#start_date-error").inner_text() == "a lease cannot start in the past"

    await page.fill("#start_date", days(12))
    await page.click("#preview-btn")
    owner = await client_login(w.client["id"])
    body = lease_body(w, shift="NIGHT", start_date=days(12), seat_count=3, add_ons=[{"code": "extra_monitor", "quantity": 2}])
    quote = await owner.post("/v1/quotes", body, expect=200)
    total = format_money(quote["first_invoice"]["total_minor"], "PHP")
    assert await page.locator("#preview-total").inner_text() == total
    assert await page.locator("#preview-monthly").inner_text() == format_money(quote["full_month"]["total_minor"], "PHP")
    lines = await page.locator("#preview tbody tr").count()
    assert lines == len(quote["first_invoice"]["lines"])
    await shot(page, "portal-book-preview")
    assert (await owner.get("/v1/leases"))["items"] == []  # a preview books nothing

    await page.click("#confirm-btn")
    await page.wait_for_url(re.compile(r".*/portal/leases/[0-9a-f-]+\?flash=Seats.*"))
    (lease,) = (await owner.get("/v1/leases"))["items"]
    assert (lease["shift"], lease["start_date"], len(lease["seats"]), lease["status"]) == ("NIGHT", days(12), 3, "confirmed")
    assert lease["discount_pct"] in ("0", "0.00")
    assert [(a["code"], a["quantity"]) for a in lease["add_ons"]] == [("extra_monitor", 2)]
    await shot(page, "portal-booked")


async def test_booking_past_the_seat_cap_is_refused_next_to_the_count(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    await staff.call("PATCH", f"/v1/clients/{w.client['id']}", 200, json={"seat_cap": 1})
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/book?site_id={w.site['id']}")
    await page.select_option("#team_id", w.team["id"])
    await page.fill("#start_date", days(5))
    await page.fill("#seat_count", "2")
    await page.click("#preview-btn")
    await page.click("#confirm-btn")
    assert "the client may hold at most 1 seats" in await page.locator("#seat_count-error").inner_text()
    assert (await staff.get(f"/v1/leases?client_id={w.client['id']}"))["items"] == []


async def test_a_client_admin_accepts_a_proposal_the_facility_sent(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=2, start_date=days(20)))
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    assert await page.locator(f'#upcoming-proposals a[href="/portal/leases/{prop["id"]}"]').count() == 1
    await page.goto("/portal/leases")
    await page.click(f'#proposals tr[data-proposal="{prop["id"]}"] a')
    await page.wait_for_url(re.compile(rf".*/portal/leases/{prop['id']}$"))
    assert await page.locator("#proposal-state strong").inner_text() == "open"
    price = await page.locator("#proposal-price").inner_text()
    assert format_money(prop["price"]["first_invoice"]["total_minor"], "PHP") in price
    async with page.expect_download() as download:
        await page.click("#proposal-pdf")
    assert (await download.value).suggested_filename == f"proposal-{prop['id']}.pdf"
    await shot(page, "portal-proposal")
    await page.click("#accept-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{prop['id']}\?flash=.*"))
    after = await staff.get(f"/v1/proposals/{prop['id']}")
    assert after["state"] == "accepted"
    assert after["lease"]["status"] == "confirmed"
    assert [s["id"] for s in after["lease"]["seats"]] == [s["id"] for s in prop["lease"]["seats"]]
    assert await page.locator("#accept-btn").count() == 0
