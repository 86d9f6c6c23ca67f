"""Agents from the client portal (issue 14): teams and their members, added by a client admin with
the API's use-cases (a clash said next to its field), removed only after a confirmation page (their
seats and access go), each agent's page with their seats."""

from __future__ import annotations

import re

from playwright.async_api import Page

from tests.browser import shot
from tests.factories import Api, uniq
from tests.portal.conftest import PortalClient, login
from tests.portal.helpers import active_lease, seat


async def test_a_client_admin_adds_a_team_and_an_agent(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.click("nav >> text=Agents")
    await page.wait_for_url(re.compile(r".*/portal/teams$"))
    # a team of the same name exists: said next to the field, nothing made
    await page.fill("#team_name", w.team["name"])
    await page.click("#add-team-btn")
    assert await page.locator("#team_name-error").inner_text() == "a team with this name exists"
    name = f"Chat support {uniq()}"
    await page.fill("#team_name", name)
    await page.click("#add-team-btn")
    await page.wait_for_url(re.compile(r".*/portal/teams\?flash=.*"))
    teams = (await staff.get(f"/v1/clients/{w.client['id']}/teams"))["items"]
    team = next(t for t in teams if t["name"] == name)

    card = page.locator(f"#team-{team['id']}")
    await card.locator("summary").click()
    form = card.locator("form.add-member-form")
    await form.locator("input[name=name]").fill("Bea Santos")
    await form.locator("input[name=email]").fill(w.members[0]["email"])  # taken by another agent
    await form.locator("input[name=employee_id]").fill("E-2001")
    await form.locator("button").click()
    card = page.locator(f"#team-{team['id']}")
    assert "a member with this email exists" in await card.inner_text()
    assert await card.locator("input[name=name]").input_value() == "Bea Santos"  # what was typed stays
    await card.locator("input[name=email]").fill(f"bea-{uniq().lower()}@client-example.com")
    await card.locator("form.add-member-form button").click()
    await page.wait_for_url(re.compile(r".*/portal/teams\?flash=.*"))
    members = (await staff.get(f"/v1/teams/{team['id']}/members"))["items"]
    assert [(m["name"], m["employee_id"]) for m in members] == [("Bea Santos", "E-2001")]
    await shot(page, "portal-agents")


async def test_removing_an_agent_asks_first_then_frees_their_seat(page: Page, staff: Api, portal_client: PortalClient) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=1)
    await seat(staff, lease, [(0, w.members[2])])
    agent = w.members[2]
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto("/portal/teams")
    await page.click(f'tr[data-member="{agent["id"]}"] a')
    await page.wait_for_url(re.compile(rf".*/portal/members/{agent['id']}$"))
    assert lease["seats"][0]["label"] in await page.locator("#member-seats").inner_text()
    await page.click("#remove-btn")
    said = await page.locator("#confirm-consequences").inner_text()
    assert "Every facility credential they hold (Wi-Fi, directory account, door badge) is revoked." in said
    assert f"Their seat {lease['seats'][0]['label']} stays leased, with nobody at them." in said
    await shot(page, "portal-remove-agent-confirm")
    await page.click("#confirm-back")
    members = {m["id"]: m for m in (await staff.get(f"/v1/teams/{w.team['id']}/members"))["items"]}
    assert members[agent["id"]]["active"] is True
    await page.click("#remove-btn")
    await page.click("#confirm-btn")
    await page.wait_for_url(re.compile(r".*/portal/teams\?flash=.*"))
    members = {m["id"]: m for m in (await staff.get(f"/v1/teams/{w.team['id']}/members"))["items"]}
    assert members[agent["id"]]["active"] is False
    assert await staff.get(f"/v1/leases/{lease['id']}/assignments") == []
