"""Seating from the client portal (issue 14): a client admin seats agents (the API's assignments
use-case: a refused save keeps every choice), moves an agent's seat, and adds seats to a lease."""

from __future__ import annotations

import re

from playwright.async_api import Page

from tests.browser import shot
from tests.factories import Api
from tests.portal.conftest import PortalClient, login
from tests.portal.helpers import active_lease, days, rival_on_site, seat


async def _assignments(staff: Api, lease_id: str) -> dict[str, str]:
    return {a["seat_id"]: a["member_id"] for a in await staff.get(f"/v1/leases/{lease_id}/assignments")}


async def test_a_client_admin_seats_agents_and_a_refused_save_keeps_every_choice(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=3)
    s0, s1, s2 = (s["id"] for s in lease["seats"])
    m0, m1, m2 = (m["id"] for m in w.members)
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")

    # the same agent at two seats: refused by the use-case, both rows marked, every choice kept
    await page.select_option(f"#seat_{s0}", m0)
    await page.select_option(f"#seat_{s1}", m0)
    await page.select_option(f"#seat_{s2}", m2)
    await page.click("#save-assignments")
    assert "a member appears twice: Agent 0" in await page.locator("#assignments-error").inner_text()
    assert await page.locator("tr.row-error").count() == 2
    assert await page.input_value(f"#seat_{s2}") == m2
    await shot(page, "portal-seating-refused")
    assert await _assignments(staff, lease["id"]) == {}

    await page.select_option(f"#seat_{s1}", m1)
    await page.click("#save-assignments")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    assert await _assignments(staff, lease["id"]) == {s0: m0, s1: m1, s2: m2}
    title = page.locator(f'svg.seatmap g[data-seat="{s1}"] title')
    assert "your seat, Agent 1" in (await title.text_content() or "")
    await shot(page, "portal-seating-saved")


async def test_a_client_admin_moves_an_agents_seat_to_a_free_one_never_to_a_taken_one(
    page: Page, staff: Api, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=1)
    await seat(staff, lease, [(0, w.members[0])])
    rival = await rival_on_site(staff, w, seats=1)
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.click("#move-seat summary")
    # the seats offered are free ones: another tenant's seat is not among them
    offered = await page.locator("#move_to option").all_text_contents()
    assert rival.lease["seats"][0]["label"] not in offered
    target = next(s for s in w.seats if s["label"] not in (lease["seats"][0]["label"], rival.lease["seats"][0]["label"]))
    assert target["label"] in offered
    # a date in the past is the API's refusal, next to the date
    await page.select_option("#move_to", target["id"])
    await page.fill("#move_effective", days(-1))
    await page.click("#move-seat-btn")
    assert await page.locator("#move_effective-error").inner_text() == "an amendment cannot take effect in the past"
    await page.fill("#move_effective", days(3))
    await page.click("#move-seat-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    moves = (await staff.get(f"/v1/leases/{lease['id']}/seat-moves"))["items"]
    assert [(m["to_seat_id"], m["member_id"], m["effective_date"]) for m in moves] == [
        (target["id"], w.members[0]["id"], days(3))
    ]
    await shot(page, "portal-seat-moved")


async def test_a_client_admin_adds_seats_within_its_cap(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=1)
    await staff.call("PATCH", f"/v1/clients/{w.client['id']}", 200, json={"seat_cap": 2})
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    await page.click("#add-seats summary")
    await page.fill("#add_count", "2")
    await page.click("#add-seats-btn")
    assert "the client may hold at most 2 seats" in await page.locator("#add_count-error").inner_text()
    assert len((await staff.get(f"/v1/leases/{lease['id']}"))["seats"]) == 1
    await page.fill("#add_count", "1")
    await page.click("#add-seats-btn")
    await page.wait_for_url(re.compile(rf".*/portal/leases/{lease['id']}\?flash=.*"))
    assert len((await staff.get(f"/v1/leases/{lease['id']}"))["seats"]) == 2
