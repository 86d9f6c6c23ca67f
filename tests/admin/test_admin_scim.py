"""The admin's page of a client's SCIM token (issue 14): an admin issues (shown once), rotates and
revokes it on the client's behalf; facility staff see the state but may not touch it."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx

from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, make_world
from tests.portal.conftest import PASSWORD, csrf_of


async def _status(live_server: str, client_id: str, token: str) -> int:
    async with httpx.AsyncClient() as web:
        r = await web.get(f"{live_server}/scim/v2/clients/{client_id}/Users", headers={"Authorization": f"Bearer {token}"})
        return r.status_code


async def test_an_admin_issues_and_revokes_a_clients_scim_token(live_server: str, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    cid = w.client["id"]
    admin_email, _ = await make_user(db, "admin", password=PASSWORD)
    staff_email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(admin_login, http, admin_email)).status_code == 303
        # the deprovision KPI sits with the provisioning figures on the dashboard and the Provisioning page
        for path in ("/admin/", "/admin/provisioning"):
            shown = await asyncio.to_thread(http.get, path)
            assert "SCIM deprovision time" in shown.text, path
        detail = await asyncio.to_thread(http.get, f"/admin/clients/{cid}")
        assert f"/admin/clients/{cid}/scim" in detail.text
        page = await asyncio.to_thread(http.get, f"/admin/clients/{cid}/scim")
        assert page.status_code == 200
        assert "none yet" in page.text
        r = await asyncio.to_thread(http.post, f"/admin/clients/{cid}/scim/token", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        found = re.search(r'id="secret-value" value="([^"]+)"', r.text)
        assert found is not None
        token = found.group(1)
        assert await _status(live_server, cid, token) == 200
        again = await asyncio.to_thread(http.get, f"/admin/clients/{cid}/scim")
        assert token not in again.text
        r = await asyncio.to_thread(http.post, f"/admin/clients/{cid}/scim/revoke", data={"csrf_token": csrf_of(again.text)})
        assert r.status_code == 303
        assert await _status(live_server, cid, token) == 401
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(admin_login, http, staff_email)).status_code == 303
        page = await asyncio.to_thread(http.get, f"/admin/clients/{cid}/scim")
        assert page.status_code == 200
        assert 'id="issue-scim-token"' not in page.text
        r = await asyncio.to_thread(http.post, f"/admin/clients/{cid}/scim/token", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 403
    assert await db.fetchval("SELECT token_hash IS NULL FROM scim_tokens WHERE client_id = $1::uuid", cid)
