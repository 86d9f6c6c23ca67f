"""The admin's pages run in Chromium under their Content-Security-Policy without one violation."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


async def test_no_page_breaks_the_content_security_policy(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2031-03-01"))
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    email, _ = await make_user(db, "admin", password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    for path in (
        "/admin/",
        "/admin/leases",
        f"/admin/leases/{lease['id']}",
        "/admin/leases/new",
        "/admin/clients",
        f"/admin/clients/{w.client['id']}",
        "/admin/devices",
        "/admin/reports",  # inline SVG charts (issue 12)
        f"/admin/sites/{w.site['id']}/map",
    ):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in (await response.all_headers())["content-security-policy"]
    # htmx at work under the policy: a seat's panel opens in place
    await page.locator('g.seat[data-label="1F-A-001"]').click()
    await page.locator("#seat-panel h2").wait_for()
    # the confirm that used to be an inline onsubmit handler still asks, and "no" keeps the login
    victim, _ = await make_user(db, "finance", password=PASSWORD)
    await page.goto(f"/admin/users?email={victim}")
    asked: list[str] = []

    async def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    await page.locator(f'tr[data-user="{victim}"]').get_by_role("button", name="disable").click()
    await page.wait_for_timeout(300)
    assert asked
    assert f"Disable {victim}?" in asked[0]
    assert await db.fetchval("SELECT active FROM users WHERE email = $1", victim) is True
    # removing a member asks on a page of its own (issue 14): going back keeps the member
    await page.goto(f"/admin/clients/{w.client['id']}")
    await page.locator(f"#team-{w.team['id']} button:has-text('remove')").first.click()
    assert "Remove Agent 0" in await page.locator("#confirm-question").inner_text()
    await page.click("#confirm-back")
    await page.wait_for_url(re.compile(rf".*/admin/clients/{w.client['id']}$"))
    members = await staff.get(f"/v1/teams/{w.team['id']}/members")
    assert [m["active"] for m in members["items"] if m["id"] == w.members[0]["id"]] == [True]
    # cancelling a lease asks on a page of its own (issue 13): going back keeps the lease
    await page.goto(f"/admin/leases/{lease['id']}")
    await page.click("#cancel-btn")
    assert "Cancel the lease of" in await page.locator("#confirm-question").inner_text()
    await page.click("#confirm-back")
    await page.wait_for_url(re.compile(rf".*/admin/leases/{lease['id']}$"))
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] != "cancelled"
    assert violations == []
