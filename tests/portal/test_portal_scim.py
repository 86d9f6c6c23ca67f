"""The portal's identity-provider page (issue 14): the client's admin issues the SCIM token (shown
once), rotates it (the old one stops), revokes it; a viewer sees the endpoint but no buttons."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
from playwright.async_api import Page

from tests.browser import shot
from tests.factories import Api
from tests.portal.conftest import PortalClient, csrf_of, login, make_portal_client, portal_login


async def _works(live_server: str, client_id: str, token: str) -> int:
    async with httpx.AsyncClient() as web:
        r = await web.get(f"{live_server}/scim/v2/clients/{client_id}/Users", headers={"Authorization": f"Bearer {token}"})
        return r.status_code


async def test_a_client_admin_issues_rotates_and_revokes_the_scim_token(
    page: Page, live_server: str, portal_client: PortalClient
) -> None:
    cid = portal_client.client_id
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.get_by_role("link", name="Identity provider").click()
    await page.wait_for_url(re.compile(r".*/portal/identity-provider$"))
    assert (await page.input_value("#scim-base-url")).endswith(f"/scim/v2/clients/{cid}")
    assert "none yet" in await page.locator("#scim-token-state").inner_text()

    await page.click("#issue-scim-token")
    first = await page.input_value("#secret-value")
    assert first.startswith("slscim_")
    assert await _works(live_server, cid, first) == 200
    await shot(page, "portal-identity-provider")
    # shown once: the page read again does not carry it
    await page.goto("/portal/identity-provider")
    assert first not in await page.content()
    assert "in force" in await page.locator("#scim-token-state").inner_text()

    await page.click("#issue-scim-token")  # rotate
    second = await page.input_value("#secret-value")
    assert second != first
    assert await _works(live_server, cid, first) == 401
    assert await _works(live_server, cid, second) == 200

    await page.click("#revoke-scim-token")
    await page.wait_for_selector(".flash")
    assert "revoked" in await page.locator(".flash").inner_text()
    assert await _works(live_server, cid, second) == 401


async def test_a_viewer_sees_the_endpoint_but_may_not_touch_the_token(
    live_server: str, staff: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    other = await make_portal_client(staff, db)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(portal_login, http, portal_client.viewer_email)).status_code == 303
        r = await asyncio.to_thread(http.get, "/portal/identity-provider")
        assert r.status_code == 200
        assert portal_client.client_id in r.text
        assert other.client_id not in r.text
        assert 'id="issue-scim-token"' not in r.text
        token = csrf_of(r.text)
        for action in ("token", "revoke"):
            r = await asyncio.to_thread(http.post, f"/portal/identity-provider/{action}", data={"csrf_token": token})
            assert r.status_code == 403, (action, r.status_code)
    assert await db.fetchval("SELECT count(*) FROM scim_tokens WHERE client_id = $1::uuid", portal_client.client_id) == 0
