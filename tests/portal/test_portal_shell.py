"""The client portal's front door: who signs in where, whose session opens what, and errors as pages."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
from playwright.async_api import Page

from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, lease_body
from tests.portal.conftest import PASSWORD, PortalClient, csrf_of, login, make_portal_client, portal_login


async def test_a_client_admin_signs_in_and_sees_only_its_own_leases(
    page: Page, staff: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    w = portal_client.world
    mine = await staff.post("/v1/leases", lease_body(w, start_date="2031-03-01"))
    other = await make_portal_client(staff, db)
    theirs = await staff.post("/v1/leases", lease_body(other.world, start_date="2031-03-01"))

    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    assert await page.locator("h1").inner_text() == w.client["legal_name"]
    assert await page.locator(f'tr[data-lease="{mine["id"]}"]').count() == 1
    assert await page.locator(f'tr[data-lease="{theirs["id"]}"]').count() == 0
    assert other.world.client["legal_name"] not in await page.content()
    assert "client admin" in await page.locator(".who .role").inner_text()
    await page.screenshot(path="test-artifacts/screenshots/portal-overview.png", full_page=True)

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(re.compile(r".*/portal/login$"))
    await page.goto("/portal/")
    await page.wait_for_url(re.compile(r".*/portal/login\?next=/portal/$"))


async def test_each_realm_admits_only_its_own_logins(
    live_http: httpx.Client, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    staff_email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    r = await asyncio.to_thread(portal_login, live_http, staff_email)
    assert r.status_code == 401
    assert "facility staff and finance sign in at /admin" in r.text
    assert "sl_portal=" not in r.headers.get("set-cookie", "").replace("sl_portal_pre=", "")

    r = await asyncio.to_thread(admin_login, live_http, portal_client.viewer_email)
    assert r.status_code == 401
    assert "client logins sign in at /portal" in r.text


async def test_a_session_of_one_realm_opens_nothing_in_the_other(
    live_server: str, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    staff_email, _ = await make_user(db, "admin", password=PASSWORD)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(admin_login, http, staff_email)).status_code == 303
        admin_cookie = http.cookies.get("sl_admin")
        assert admin_cookie
        # the admin's cookie is scoped to /admin: the browser never sends it to /portal …
        r = await asyncio.to_thread(http.get, "/portal/")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/portal/login")
        # … and the same value under the portal's name is not a portal session either (another key)
        r = await asyncio.to_thread(http.get, "/portal/", cookies={"sl_portal": admin_cookie})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/portal/login")
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        r = await asyncio.to_thread(portal_login, http, portal_client.admin_email)
        assert r.status_code == 303
        assert r.headers["location"] == "/portal/"
        set_cookie = r.headers["set-cookie"]
        assert "Path=/portal" in set_cookie
        assert "HttpOnly" in set_cookie
        portal_cookie = http.cookies.get("sl_portal")
        assert portal_cookie
        r = await asyncio.to_thread(http.get, "/admin/", cookies={"sl_admin": portal_cookie})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/admin/login")
        # signed in: the portal answers with the admin's security headers
        r = await asyncio.to_thread(http.get, "/portal/")
        assert r.status_code == 200
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        # a form without the page's CSRF token changes nothing
        r = await asyncio.to_thread(http.post, "/portal/logout", data={})
        assert r.status_code == 403
        assert (await asyncio.to_thread(http.get, "/portal/")).status_code == 200
        r = await asyncio.to_thread(http.post, "/portal/logout", data={"csrf_token": csrf_of(http.get("/portal/").text)})
        assert r.status_code == 303
        http.cookies.set("sl_portal", portal_cookie, path="/portal")
        # signing out ended the session itself, not only this browser's cookie
        r = await asyncio.to_thread(http.get, "/portal/")
        assert r.status_code == 303


async def test_errors_in_the_portal_are_pages_and_never_leave_it(live_http: httpx.Client, portal_client: PortalClient) -> None:
    r = await asyncio.to_thread(portal_login, live_http, portal_client.viewer_email, "//evil.example.com/portal")
    assert r.status_code == 303
    assert r.headers["location"] == "/portal/"
    r = await asyncio.to_thread(live_http.get, "/portal/no-such-page")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "there is no such page" in r.text
    r = await asyncio.to_thread(live_http.get, "/portal")
    assert r.status_code == 307
    assert r.headers["location"] == "/portal/"
