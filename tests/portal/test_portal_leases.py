"""The client portal's leases (issue 14): the list by site and shift, the lease page with its seats on
the floor map (another tenant's seats only "taken": never who, not in the markup either), the
overview's upcoming cards, and ending or reducing a lease within the contract's rules, asked first."""

from __future__ import annotations

import re

from playwright.async_api import Page

from tests.browser import attr, shot
from tests.factories import Api, lease_body, uniq
from tests.portal.conftest import PortalClient, login
from tests.portal.helpers import active_lease, days, rival_on_site, seat


async def test_the_lease_page_draws_its_seats_with_their_agents_and_others_only_as_taken(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=2)
    await seat(staff, lease, [(0, w.members[0])])
    rival = await rival_on_site(staff, w, seats=2)
    own_other = await active_lease(staff, w, seats=1)

    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.click("nav >> text=Leases")
    group = page.locator(f'.lease-group[data-site="{w.site["code"]}"][data-shift="DAY"]')
    await group.locator(f'tr[data-lease="{lease["id"]}"] a').click()
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}$"))

    first, second = (page.locator(f'svg.seatmap g[data-seat="{s["id"]}"]') for s in lease["seats"])
    assert "mine" in await attr(first, "class")
    assert "highlight" in await attr(first, "class")
    assert (
        await first.locator("title").text_content()
        == f"{lease['seats'][0]['label']}: your seat, Agent 0 — Voice support - nights · E0000"
    )
    assert await second.locator("title").text_content() == f"{lease['seats'][1]['label']}: your seat, no agent assigned"
    elsewhere = page.locator(f'svg.seatmap g[data-seat="{own_other["seats"][0]["id"]}"]')
    assert await attr(elsewhere, "data-state") == "mine"
    assert "highlight" not in await attr(elsewhere, "class")
    assert (
        await elsewhere.locator("title").text_content()
        == f"{own_other['seats'][0]['label']}: your seat, on another of your leases"
    )
    for s in rival.lease["seats"]:
        theirs = page.locator(f'svg.seatmap g[data-seat="{s["id"]}"]')
        assert await attr(theirs, "data-state") == "taken"
        assert await theirs.locator("title").text_content() == f"{s['label']}: taken"
    # who holds them is nowhere on the page: not its name, its agent, its lease, nor a hint of them
    html = await page.content()
    for secret in (rival.client["legal_name"], rival.member["name"], rival.lease["id"], rival.lease["id"][:8], "Rival"):
        assert secret not in html
    # a viewer reads: no form that changes the lease
    assert await page.locator("#viewer-note").count() == 1
    for action in ("#end-btn", "#save-assignments", "#add-seats", "#move-seat", ".release-btn"):
        assert await page.locator(action).count() == 0
    await shot(page, "portal-lease-map")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: the map scrolls in its box
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shot(page, "portal-lease-map-phone")


async def test_the_overview_shows_what_starts_ends_and_is_up_for_renewal(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    starting = await staff.post("/v1/leases", lease_body(w, start_date=days(10), seat_count=1))
    ending = await active_lease(staff, w, seats=1, end_date=days(20))
    later = await staff.post("/v1/leases", lease_body(w, start_date=days(90), seat_count=1))
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    starts, ends, renewals = (page.locator(f"#upcoming-{k}") for k in ("starts", "ends", "renewals"))
    assert await starts.locator(f'a[href="/portal/leases/{starting["id"]}"]').count() == 1
    assert await starts.locator(f'a[href="/portal/leases/{later["id"]}"]').count() == 0
    assert f"starts {days(10)}" in await starts.inner_text()
    assert await ends.locator(f'a[href="/portal/leases/{ending["id"]}"]').count() == 1
    # a fixed term ending within the renewal window (60 days) is up for renewal
    assert await renewals.locator(f'a[href="/portal/leases/{ending["id"]}"]').count() == 1
    assert f"term ends {days(20)}" in await renewals.inner_text()
    await shot(page, "portal-overview-upcoming")


async def test_ending_a_rolling_lease_keeps_its_notice_and_asks_first(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=2)
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    assert await page.input_value("#end_date") == days(30)  # the earliest day the notice allows

    # before the notice runs out: the API's refusal, next to the date, nothing changed
    await page.fill("#end_date", days(10))
    await page.click("#end-btn")
    error = page.locator("#end_date-error")
    assert await error.inner_text() == f"with 30 days' notice the lease can end on {days(30)} at the earliest"
    assert await page.input_value("#end_date") == days(10)
    await shot(page, "portal-end-refused")
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] is None

    # within it: a confirmation page first; going back changes nothing
    await page.fill("#end_date", days(45))
    await page.click("#end-btn")
    assert await page.locator("#confirm-question").inner_text() == f"End your lease {w.site['code']} · DAY from {days(-5)}?"
    assert await page.input_value("#confirm-end_date") == days(45)
    await shot(page, "portal-end-confirm")
    await page.click("#confirm-back")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}$"))
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] is None
    await page.fill("#end_date", days(45))
    await page.click("#end-btn")
    await page.click("#confirm-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    assert f"Lease ends on {days(45)}" in await page.locator(".flash").inner_text()
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == days(45)


async def test_a_fixed_term_cannot_be_ended_early_from_the_portal(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=1, end_date=days(200))
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.fill("#end_date", days(100))
    await page.click("#end-btn")
    error = await page.locator("#end_date-error").inner_text()
    assert error == f"a fixed-term lease cannot be ended before its term ends on {days(200)}; ask the facility"
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] == days(200)


async def test_releasing_a_seat_asks_for_the_day_it_is_free_from(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=2)
    await seat(staff, lease, [(1, w.members[1])])
    label = lease["seats"][1]["label"]
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.click(f"#release-{label}")
    said = await page.locator("#confirm-consequences").inner_text()
    assert f"{label} leaves your lease from the date below" in said
    assert "Agent 1, who sits there, loses the seat and its access then" in said
    # a day in the past is refused next to the date, on the confirmation
    await page.fill("#confirm-effective", days(-2))
    await page.click("#confirm-btn")
    assert "an amendment cannot take effect in the past" in await page.locator("#release-error").inner_text()
    assert len((await staff.get(f"/v1/leases/{lease['id']}"))["seats"]) == 2
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.click(f"#release-{label}")
    await page.fill("#confirm-effective", days(7))
    await shot(page, "portal-release-confirm")
    await page.click("#confirm-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    periods = (await staff.get(f"/v1/leases/{lease['id']}"))["seat_periods"]
    released = next(p for p in periods if p["label"] == label)
    assert released["end_date"] == days(6)


async def test_cancelling_a_lease_that_starts_soon_says_the_fee_first(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await staff.post("/v1/leases", lease_body(w, start_date=days(7), seat_count=2))
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.click("#cancel-btn")
    said = await page.locator("#confirm-consequences").inner_text()
    # one month of the lease's own seat price (PHP 15,000.00) x 2 seats, as the API charges it
    assert "a cancellation fee of PHP 30,000.00 (1 month(s) of the seat price × 2 seats) is billed on your next invoice" in said
    await shot(page, "portal-cancel-confirm")
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] == "confirmed"
    await page.click("#confirm-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] == "cancelled"
    charges = (await staff.get(f"/v1/leases/{lease['id']}/charges"))["items"]
    assert [(c["kind"], c["amount_minor"]) for c in charges] == [("cancellation_fee", 3_000_000)]
    assert "PHP 30,000.00" in await page.locator("#lease-charges").inner_text()


async def test_a_lease_waiting_for_approval_says_so_and_until_when_its_seats_are_held(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await staff.post("/v1/leases", lease_body(w, start_date=days(30), seat_count=1, discount_pct="25"))
    assert lease["status"] == "pending_approval"
    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    said = await page.locator("#pending-approval").inner_text()
    assert said.startswith("The facility approves this lease before it is confirmed; its seats are held for you until 20")
    assert await page.locator("#viewer-note").count() == 1


async def test_the_seats_page_shows_every_seat_of_the_client_with_its_shift_and_agent(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    day_lease = await active_lease(staff, w, seats=1)
    await seat(staff, day_lease, [(0, w.members[0])])
    body = lease_body(w, shift="NIGHT", start_date=days(-5), seat_ids=[day_lease["seats"][0]["id"]])
    del body["seat_count"]
    night = await staff.post("/v1/leases", body)
    await seat(staff, night, [(0, w.members[1])])
    rival = await rival_on_site(staff, w, seats=1)
    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.click("nav >> text=Seats")
    await page.wait_for_url(re.compile(r".*/portal/seats$"))
    shared = page.locator(f'svg.seatmap g[data-seat="{day_lease["seats"][0]["id"]}"]')
    assert await attr(shared, "data-state") == "mine"
    label = day_lease["seats"][0]["label"]
    assert await shared.locator("title").text_content() == f"{label}: your seat, DAY Agent 0; NIGHT Agent 1"
    theirs = page.locator(f'svg.seatmap g[data-seat="{rival.lease["seats"][0]["id"]}"]')
    assert await attr(theirs, "data-state") == "taken"
    html = await page.content()
    assert rival.client["legal_name"] not in html
    assert rival.member["name"] not in html
    await shot(page, "portal-seats")
    # one shift: the night's agent only
    await page.select_option("#seats-shift", "NIGHT")
    await page.click("#seats-filter button")
    await page.wait_for_url(re.compile(r".*/portal/seats\?.*shift=NIGHT.*"))
    assert await shared.locator("title").text_content() == f"{label}: your seat, NIGHT Agent 1"
    # a site where the client leases nothing is not its to look at
    other = await page.goto(f"/portal/seats?site_id={rival.lease['site_id']}")
    assert other is not None
    assert other.status == 200  # the rival shares the site: still the client's site
    response = await page.goto(f"/portal/seats?site_id={(await staff.post('/v1/sites', _site()))['id']}")
    assert response is not None
    assert response.status == 404


def _site() -> dict[str, str]:
    code = uniq("X")
    return {"code": code, "name": f"Site {code}", "timezone": "Asia/Manila", "currency": "PHP", "tax_rate": "0.12"}
