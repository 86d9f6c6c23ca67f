"""People and keys in headless Chromium (issue 13): disable a login and see its open admin session
end; reset a password through its link; make an API credential, use it, revoke it; a temporary
password leads to My account first; the first admin's printed password is pointed at."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

import asyncpg
import httpx
from playwright.async_api import Browser, Page

from tests.admin.conftest import PASSWORD, login, shot, text_of
from tests.conftest import make_user
from tests.factories import Api, uniq


async def _admin(db: asyncpg.Pool) -> str:
    email, _ = await make_user(db, "admin", password=PASSWORD)
    return email


async def test_disable_a_login_and_its_open_admin_session_ends(
    page: Page, browser: Browser, live_server: str, db: asyncpg.Pool
) -> None:
    victim, _ = await make_user(db, "facility_staff", password=PASSWORD)
    other = await browser.new_context(base_url=live_server)
    try:
        theirs = await other.new_page()
        await login(theirs, victim)
        await theirs.wait_for_url(re.compile(r".*/admin/$"))
        await theirs.goto("/admin/leases")
        assert await theirs.locator("h1").inner_text() == "Leases"

        await login(page, await _admin(db))
        await page.wait_for_url(re.compile(r".*/admin/$"))
        await page.goto(f"/admin/users?email={victim}")
        row = page.locator(f'tr[data-user="{victim}"]')
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await row.get_by_role("button", name="disable").click()
        await page.get_by_text(f"Login {victim} disabled").wait_for()
        # back on the list as it was filtered, whatever the number of logins before this one
        assert f"email={quote(victim)}" in page.url or f"email={victim}" in page.url
        assert "disabled" in await text_of(page.locator(f'tr[data-user="{victim}"]'))
        await shot(page, "users-disabled")

        # the other browser's next click lands on the sign-in page
        await theirs.goto("/admin/leases")
        await theirs.wait_for_url(re.compile(r".*/admin/login\?next=.*"))
        await login(theirs, victim)
        assert "Wrong email or password" in await theirs.locator(".flash.error").inner_text()
    finally:
        await other.close()


async def test_reset_a_password_by_link_and_sign_in_with_the_new_one(
    page: Page, browser: Browser, live_server: str, db: asyncpg.Pool
) -> None:
    user, _ = await make_user(db, "finance", password=PASSWORD)
    await login(page, await _admin(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/users?email={user}")
    await page.locator(f'tr[data-user="{user}"]').get_by_role("button", name="reset link").click()
    link = await page.locator("#secret-value").input_value()
    assert "/admin/password-reset#token=" in link
    await shot(page, "users-reset-link")
    # the link is shown once: the list again does not hold it
    await page.goto("/admin/users")
    assert link not in await page.content()

    ctx = await browser.new_context(base_url=live_server)
    try:
        theirs = await ctx.new_page()
        await theirs.goto(link)
        assert await theirs.locator("#reset-token").input_value()  # copied from the fragment
        assert "#token=" not in theirs.url  # and taken off the address bar
        await theirs.fill("input[name=new_password]", "a brand new secret 1")
        await theirs.fill("input[name=confirm_password]", "a brand new secret 1")
        await shot(theirs, "password-reset-form")
        await theirs.click("#reset-form button[type=submit]")
        await theirs.locator("#reset-done").wait_for()
        await shot(theirs, "password-reset-done")
        await login(theirs, user, "a brand new secret 1")
        await theirs.wait_for_url(re.compile(r".*/admin/$"))
        # the link again: refused
        await theirs.goto(link)
        await theirs.fill("input[name=new_password]", "another secret 22")
        await theirs.fill("input[name=confirm_password]", "another secret 22")
        await theirs.click("#reset-form button[type=submit]")
        assert "used or expired" in await theirs.locator(".flash.error").inner_text()
    finally:
        await ctx.close()


async def test_make_an_api_credential_use_it_and_revoke_it(page: Page, admin: Api, live_server: str, db: asyncpg.Pool) -> None:
    client = await admin.post("/v1/clients", {"legal_name": f"Keys {uniq()} Inc.", "billing_email": "ap@client-example.com"})
    await login(page, await _admin(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/api-credentials")
    name = f"HRIS {uniq()}"
    form = page.locator("#new-credential-form")
    await form.locator("input[name=name]").fill(name)
    await form.locator("select[name=role]").select_option("client_viewer")
    await form.locator("select[name=client_id]").select_option(client["id"])
    await form.get_by_role("button", name="Create credential").click()
    secret = await page.locator("#secret-value").input_value()
    key = await text_of(page.locator("#secret-key"))
    await shot(page, "api-credential-created")

    async with httpx.AsyncClient(base_url=live_server) as api:
        r = await api.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await api.get(f"/v1/clients/{client['id']}/teams", headers=bearer)).status_code == 200

        # listed with its last use, on its page and on the client's
        await page.goto("/admin/api-credentials")
        row = page.locator(f'tr[data-credential="{name}"]')
        assert "never" not in await text_of(row)
        assert secret not in await page.content()
        await page.goto(f"/admin/clients/{client['id']}")
        await page.locator("#client-credentials", has_text=name).wait_for()
        await shot(page, "client-api-credentials")

        # rotated: the new secret shown once; the old one and its token stop at once
        await page.goto("/admin/api-credentials")
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await page.locator(f'tr[data-credential="{name}"]').get_by_role("button", name="rotate").click()
        rotated = await page.locator("#secret-value").input_value()
        assert rotated != secret
        await shot(page, "api-credential-rotated")
        assert (await api.get(f"/v1/clients/{client['id']}/teams", headers=bearer)).status_code == 401
        r = await api.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret})
        assert r.status_code == 401
        r = await api.post(
            "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": rotated}
        )
        assert r.status_code == 200
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await api.get(f"/v1/clients/{client['id']}/teams", headers=bearer)).status_code == 200

        await page.goto("/admin/api-credentials")
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await page.locator(f'tr[data-credential="{name}"]').get_by_role("button", name="revoke").click()
        await page.get_by_text(f"“{name}” revoked").wait_for()
        assert "revoked" in await text_of(page.locator(f'tr[data-credential="{name}"]'))
        await shot(page, "api-credential-revoked")
        assert (await api.get(f"/v1/clients/{client['id']}/teams", headers=bearer)).status_code == 401
        r = await api.post(
            "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": rotated}
        )
        assert r.status_code == 401


async def test_a_temporary_password_leads_to_my_account_first(page: Page, db: asyncpg.Pool) -> None:
    await login(page, await _admin(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/users")
    email = f"new-{uniq().lower()}@seatlease-example.com"
    form = page.locator("#new-user-form")
    await form.locator("input[name=email]").fill(email)
    await form.locator("select[name=role]").select_option("facility_staff")
    await form.get_by_role("button", name="Create login").click()
    temporary = await page.locator("#secret-value").input_value()
    await shot(page, "users-created-temporary")
    await page.context.clear_cookies()

    await login(page, email, temporary)
    await page.wait_for_url(re.compile(r".*/admin/account$"))
    assert "temporary password" in await page.locator("#must-change").inner_text()
    await page.goto("/admin/leases")
    await page.wait_for_url(re.compile(r".*/admin/account$"))  # nothing else until it is changed
    await shot(page, "account-must-change")
    await page.fill("input[name=current_password]", temporary)
    await page.fill("input[name=new_password]", "my own password 1")
    await page.fill("input[name=confirm_password]", "my own password 1")
    await page.click("#password-form button[type=submit]")
    await page.get_by_text("Password changed").wait_for()
    await page.goto("/admin/leases")
    assert await page.locator("h1").inner_text() == "Leases"


async def test_the_first_admins_printed_password_is_pointed_at(page: Page, db: asyncpg.Pool) -> None:
    email = await _admin(db)
    await db.execute("UPDATE users SET password_change = 'suggested' WHERE email = $1", email)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    nudge = page.locator(".flash.nudge")
    assert "printed at the first start" in await nudge.inner_text()
    await shot(page, "first-admin-nudge")
    await nudge.get_by_role("link", name="Change it in My account").click()
    await page.wait_for_url(re.compile(r".*/admin/account$"))
    assert "admin-login.txt" in await page.locator("#should-change").inner_text()
    await page.fill("input[name=current_password]", PASSWORD)
    await page.fill("input[name=new_password]", "not the printed one 1")
    await page.fill("input[name=confirm_password]", "not the printed one 1")
    await page.click("#password-form button[type=submit]")
    await page.get_by_text("Password changed").wait_for()
    await page.goto("/admin/")
    assert await page.locator(".flash.nudge").count() == 0
    assert await db.fetchval("SELECT password_change FROM users WHERE email = $1", email) is None


async def test_only_admins_reach_the_people_pages(live_http: httpx.Client, db: asyncpg.Pool) -> None:
    from tests.admin.test_admin_http import admin_login

    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    for path in ("/admin/users", "/admin/api-credentials"):
        r = await asyncio.to_thread(live_http.get, path)
        assert r.status_code == 403, path
    r = await asyncio.to_thread(live_http.get, "/admin/account")
    assert r.status_code == 200
    assert "Users" not in re.sub(r"<main.*", "", r.text, flags=re.S)  # not in the navigation
