"""Credentials from the client portal (issue 14): each agent's credentials and their states, as the
real reconciler grants them (SCIM directory, badge receiver, RADIUS tables: the provisioning tests'
peers), and a secret revealed once to a client admin -- in that answer only, never again, and the
page says so. Never the target's own error text, never another tenant's credential."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import asyncpg
import httpx
from playwright.async_api import Page

from provisioning.reconciler import Reconciler
from tests.browser import attr, shot
from tests.factories import Api
from tests.portal.conftest import PortalClient, csrf_of, login, make_portal_client, portal_login
from tests.portal.helpers import active_lease, form_post, seat
from tests.provisioning.conftest import badges, maker, prov_config, radius_db, reconcilers, scim
from tests.provisioning.helpers import until

__all__ = ["badges", "maker", "prov_config", "radius_db", "reconcilers", "scim"]  # the provisioning tests' peers


async def test_an_agents_secret_is_revealed_once_and_the_page_says_so(
    page: Page,
    staff: Api,
    db: asyncpg.Pool,
    live_server: str,
    portal_client: PortalClient,
    reconcilers: Callable[..., Reconciler],
) -> None:
    w = portal_client.world
    agent = w.members[0]
    lease = await active_lease(staff, w, seats=1)
    await seat(staff, lease, [(0, agent)])
    rec = reconcilers()

    async def active() -> bool:
        items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
        return bool(items) and all(c["state"] == "active" for c in items)

    # the credentials the seating calls for, not granted yet: a viewer watches them turn active
    await rec.derive()
    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/members/{agent['id']}")
    assert await attr(page.locator("#credentials"), "data-settling") == "yes"
    assert "pending" in await page.locator("#credentials").inner_text()
    await until(rec, active)
    await page.wait_for_selector('#credentials[data-settling="no"]', timeout=10_000)  # no reload
    directory = next(c for c in (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"] if c["kind"] == "directory")

    # another client's admin: a 404 page, and the secret is still there to reveal
    stranger = await make_portal_client(staff, db)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(portal_login, http, stranger.admin_email)).status_code == 303
        r = await form_post(http, "/portal/teams", f"/portal/credentials/{directory['id']}/reveal", {})
        assert r.status_code == 404
        assert agent["name"] not in r.text
        assert (await asyncio.to_thread(http.get, f"/portal/members/{agent['id']}")).status_code == 404
    assert next(c for c in (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"] if c["kind"] == "directory")[
        "secret_available"
    ]

    # a viewer sees the states, and no reveal button
    row = page.locator(f'tr[data-credential="{directory["id"]}"]')
    assert "active" in await row.inner_text()
    assert await page.locator(".reveal-btn").count() == 0
    await page.context.clear_cookies()

    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/leases/{lease['id']}")
    assert await page.locator(f'#credentials tr[data-credential="{directory["id"]}"] .reveal-btn').count() == 1
    await page.goto(f"/portal/members/{agent['id']}")
    await page.locator(f'tr[data-credential="{directory["id"]}"] .reveal-btn').click()
    secret = await page.input_value("#secret-value")
    assert len(secret) >= 16
    assert "will never be shown again" in await page.locator("#shown-once").inner_text()
    await shot(page, "portal-secret-shown-once")
    assert secret not in page.url

    # gone: the page says when it was revealed, offers nothing more, and the API agrees (410)
    await page.goto(f"/portal/members/{agent['id']}")
    row = page.locator(f'tr[data-credential="{directory["id"]}"]')
    assert "never shown again" in await row.locator(".revealed").inner_text()
    assert await row.locator(".reveal-btn").count() == 0
    assert secret not in await page.content()
    await staff.call("POST", f"/v1/credentials/{directory['id']}/reveal", 410)
    await shot(page, "portal-secret-revealed")


async def test_a_double_submitted_reveal_shows_the_secret_once(
    live_server: str, staff: Api, portal_client: PortalClient, reconcilers: Callable[..., Reconciler]
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=1)
    await seat(staff, lease, [(0, w.members[1])])
    rec = reconcilers()

    async def active() -> bool:
        items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
        return bool(items) and all(c["state"] == "active" for c in items)

    await until(rec, active)
    directory = next(c for c in (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"] if c["kind"] == "directory")
    page = f"/portal/members/{w.members[1]['id']}"
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=20) as http:
        assert (await asyncio.to_thread(portal_login, http, portal_client.admin_email)).status_code == 303
        token = csrf_of((await asyncio.to_thread(http.get, page)).text)

        def reveal() -> httpx.Response:
            return http.post(f"/portal/credentials/{directory['id']}/reveal", data={"csrf_token": token})

        answers = await asyncio.gather(*(asyncio.to_thread(reveal) for _ in range(2)))
    shown = [r for r in answers if r.status_code == 200]
    assert len(shown) == 1
    assert shown[0].headers["cache-control"] == "no-store"
    assert 'id="secret-value"' in shown[0].text
    (refused,) = [r for r in answers if r is not shown[0]]
    assert refused.status_code == 303
    assert "already%20revealed" in refused.headers["location"]
