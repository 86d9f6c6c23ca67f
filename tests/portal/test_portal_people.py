"""The client's own logins and API credentials in the portal (client admins only), and My account
for every client login, in headless Chromium: a login made with a temporary password changes it
first; disabled, its open session ends; a reset link sets a new password; a credential's secret is
shown once and works, rotated it stops, revoked for good; a viewer gets a 403 page and no menu entry;
a client's admin makes no staff login and touches no other tenant's."""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import httpx
from playwright.async_api import Browser, Page

from tests.browser import shot, text_of
from tests.factories import Api, uniq
from tests.portal.conftest import PortalClient, csrf_of, login, make_portal_client, portal_login


async def _accept_next_dialog(page: Page) -> None:
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))


async def test_a_client_admin_makes_a_login_which_changes_its_temporary_password_then_disables_and_resets_it(
    page: Page, browser: Browser, live_server: str, staff: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    other = await make_portal_client(staff, db)
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.get_by_role("link", name="Users", exact=True).click()
    await page.wait_for_url(re.compile(r".*/portal/users$"))
    listed = await text_of(page.locator("#users-table"))
    assert portal_client.viewer_email in listed
    assert other.admin_email not in listed  # another tenant's logins are not there

    email = f"agent-lead-{uniq().lower()}@client-example.com"
    form = page.locator("#new-user-form")
    await form.locator("input[name=email]").fill(email)
    await form.locator("select[name=role]").select_option("client_viewer")
    await form.get_by_role("button", name="Create login").click()
    temporary = await page.locator("#secret-value").input_value()
    assert len(temporary) >= 20
    await shot(page, "portal-users-created")
    row = await db.fetchrow("SELECT role, client_id, password_change FROM users WHERE email = $1", email)
    assert (row["role"], str(row["client_id"]), row["password_change"]) == ("client_viewer", portal_client.client_id, "required")
    await page.goto("/portal/users")
    assert temporary not in await page.content()  # shown once

    ctx = await browser.new_context(base_url=live_server)
    try:
        theirs = await ctx.new_page()
        await login(theirs, email, temporary, where="/portal")
        await theirs.wait_for_url(re.compile(r".*/portal/account$"))
        assert "temporary password" in await theirs.locator("#must-change").inner_text()
        await theirs.goto("/portal/invoices")
        await theirs.wait_for_url(re.compile(r".*/portal/account$"))  # nothing else until it is changed
        await shot(theirs, "portal-account-must-change")
        await theirs.fill("input[name=current_password]", temporary)
        await theirs.fill("input[name=new_password]", "my own password 1")
        await theirs.fill("input[name=confirm_password]", "my own password 2")
        await theirs.click("#password-form button[type=submit]")
        assert "differ" in await theirs.locator("#confirm_password-error").inner_text()
        await theirs.fill("input[name=current_password]", temporary)
        await theirs.fill("input[name=new_password]", "my own password 1")
        await theirs.fill("input[name=confirm_password]", "my own password 1")
        await theirs.click("#password-form button[type=submit]")
        await theirs.get_by_text("Password changed").wait_for()
        await theirs.goto("/portal/invoices")
        assert await theirs.locator("h1").inner_text() == "Invoices"
        # a viewer: no Users or API credentials in its menu, and a 403 page if it goes there
        assert await theirs.locator("#side-nav").get_by_role("link", name="Users").count() == 0
        assert await theirs.locator("#side-nav").get_by_role("link", name="API credentials").count() == 0
        r = await theirs.goto("/portal/users")
        assert r is not None
        assert r.status == 403
        await shot(theirs, "portal-viewer-users-403")

        # the client's admin disables it: the open session ends on its next click
        await _accept_next_dialog(page)
        await page.locator(f'tr[data-user="{email}"]').get_by_role("button", name="disable").click()
        await page.get_by_text(f"Login {email} disabled").wait_for()
        await theirs.goto("/portal/invoices")
        await theirs.wait_for_url(re.compile(r".*/portal/login\?next=.*"))

        # enabled again and reset by a one-time link into the portal
        await page.locator(f'tr[data-user="{email}"]').get_by_role("button", name="enable").click()
        await page.get_by_text(f"Login {email} enabled").wait_for()
        await page.locator(f'tr[data-user="{email}"]').get_by_role("button", name="reset link").click()
        link = await page.locator("#secret-value").input_value()
        assert "/portal/password-reset#token=" in link
        await theirs.goto(link)
        assert await theirs.locator("#reset-token").input_value()
        await theirs.fill("input[name=new_password]", "a brand new secret 1")
        await theirs.fill("input[name=confirm_password]", "a brand new secret 1")
        await theirs.click("#reset-form button[type=submit]")
        await theirs.locator("#reset-done").wait_for()
        await shot(theirs, "portal-password-reset-done")
        await theirs.get_by_role("button", name="Sign in").click()
        await theirs.wait_for_url(re.compile(r".*/portal/login$"))
        await login(theirs, email, "a brand new secret 1", where="/portal")
        await theirs.wait_for_url(re.compile(r".*/portal/$"))
    finally:
        await ctx.close()


async def test_a_client_admin_makes_no_staff_login_nor_disables_itself_and_a_viewer_changes_no_one(
    live_http: httpx.Client, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    assert (await asyncio.to_thread(portal_login, live_http, portal_client.admin_email)).status_code == 303
    token = csrf_of((await asyncio.to_thread(live_http.get, "/portal/users")).text)
    for role in ("admin", "finance", "facility_staff"):
        email = f"sneaky-{uniq().lower()}@client-example.com"
        r = await asyncio.to_thread(
            live_http.post, "/portal/users", data={"csrf_token": token, "email": email, "role": role, "password": ""}
        )
        assert r.status_code == 422, (role, r.status_code)
        assert "own client only" in r.text
        assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0
    me = await db.fetchval("SELECT id FROM users WHERE email = $1", portal_client.admin_email)
    r = await asyncio.to_thread(live_http.post, f"/portal/users/{me}/active", data={"csrf_token": token, "active": "false"})
    assert r.status_code == 409
    assert "your own login" in r.text
    assert await db.fetchval("SELECT active FROM users WHERE id = $1", me) is True
    # a login id the tenant does not have: 404
    r = await asyncio.to_thread(live_http.post, f"/portal/users/{uuid.uuid4()}/active", data={"csrf_token": token})
    assert r.status_code == 404

    # a viewer of the same client: every people and keys action is a 403, and nothing is made
    live_http.cookies.clear()
    assert (await asyncio.to_thread(portal_login, live_http, portal_client.viewer_email)).status_code == 303
    token = csrf_of((await asyncio.to_thread(live_http.get, "/portal/")).text)
    email = f"by-viewer-{uniq().lower()}@client-example.com"
    for path, form in (
        ("/portal/users", {"email": email, "role": "client_viewer"}),
        (f"/portal/users/{me}/active", {"active": "false"}),
        (f"/portal/users/{me}/reset", {"method": "temporary_password"}),
        ("/portal/api-credentials", {"name": "viewer's key", "role": "client_viewer"}),
    ):
        r = await asyncio.to_thread(live_http.post, path, data={"csrf_token": token, **form})
        assert r.status_code == 403, (path, r.status_code)
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0
    assert await db.fetchval("SELECT active AND password_change IS NULL FROM users WHERE id = $1", me) is True
    assert await db.fetchval("SELECT count(*) FROM api_clients WHERE name = $1", "viewer's key") == 0


async def test_a_client_admin_makes_an_api_credential_uses_it_rotates_and_revokes_it(
    page: Page, live_server: str, portal_client: PortalClient
) -> None:
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.get_by_role("link", name="API credentials", exact=True).click()
    name = f"HRIS {uniq()}"
    form = page.locator("#new-credential-form")
    await form.locator("input[name=name]").fill(name)
    await form.locator("select[name=role]").select_option("client_viewer")
    await form.get_by_role("button", name="Create credential").click()
    secret = await page.locator("#secret-value").input_value()
    key = await text_of(page.locator("#secret-key"))
    await shot(page, "portal-api-credential-created")
    teams = f"/v1/clients/{portal_client.client_id}/teams"

    async with httpx.AsyncClient(base_url=live_server) as api:
        grant = {"grant_type": "client_credentials", "client_id": key, "client_secret": secret}
        r = await api.post("/v1/auth/token", data=grant)
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await api.get(teams, headers=bearer)).status_code == 200

        await page.goto("/portal/api-credentials")
        assert "never" not in await text_of(page.locator(f'tr[data-credential="{name}"]'))
        assert secret not in await page.content()

        await _accept_next_dialog(page)
        await page.locator(f'tr[data-credential="{name}"]').get_by_role("button", name="rotate").click()
        rotated = await page.locator("#secret-value").input_value()
        assert rotated != secret
        assert (await api.get(teams, headers=bearer)).status_code == 401
        assert (await api.post("/v1/auth/token", data=grant)).status_code == 401
        grant["client_secret"] = rotated
        r = await api.post("/v1/auth/token", data=grant)
        assert r.status_code == 200
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}

        await page.goto("/portal/api-credentials")
        await _accept_next_dialog(page)
        await page.locator(f'tr[data-credential="{name}"]').get_by_role("button", name="revoke").click()
        await page.get_by_text(f"“{name}” revoked").wait_for()
        assert "revoked" in await text_of(page.locator(f'tr[data-credential="{name}"]'))
        await shot(page, "portal-api-credential-revoked")
        assert (await api.get(teams, headers=bearer)).status_code == 401
        assert (await api.post("/v1/auth/token", data=grant)).status_code == 401


async def test_my_account_checks_the_current_password_and_ends_the_other_sessions(
    browser: Browser, live_server: str, live_http: httpx.Client, portal_client: PortalClient
) -> None:
    ctx = await browser.new_context(base_url=live_server)
    try:
        page = await ctx.new_page()
        await login(page, portal_client.viewer_email, where="/portal")
        await page.wait_for_url(re.compile(r".*/portal/$"))
        # another session of the same login, elsewhere
        assert (await asyncio.to_thread(portal_login, live_http, portal_client.viewer_email)).status_code == 303
        assert (await asyncio.to_thread(live_http.get, "/portal/invoices")).status_code == 200

        await page.get_by_role("link", name="My account", exact=True).click()
        await page.fill("input[name=current_password]", "not my password 1")
        await page.fill("input[name=new_password]", "a new password 77")
        await page.fill("input[name=confirm_password]", "a new password 77")
        await page.click("#password-form button[type=submit]")
        assert "wrong" in await page.locator("#current_password-error").inner_text()
        await page.fill("input[name=current_password]", "correct horse battery")
        await page.fill("input[name=new_password]", "a new password 77")
        await page.fill("input[name=confirm_password]", "a new password 77")
        await page.click("#password-form button[type=submit]")
        await page.get_by_text("Password changed").wait_for()
        await shot(page, "portal-account-changed")
        await page.goto("/portal/invoices")
        assert await page.locator("h1").inner_text() == "Invoices"  # this browser stays signed in
        r = await asyncio.to_thread(live_http.get, "/portal/invoices")
        assert r.status_code == 303  # the other session ended
    finally:
        await ctx.close()
