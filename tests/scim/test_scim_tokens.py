"""A client's SCIM token opens only its own client's endpoint; issue, rotate (no overlap), revoke;
kept as its SHA-256 only; wrong or missing tokens are 401 with WWW-Authenticate."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Api, ClientLogin
from tests.scim.conftest import scim_client

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


async def test_another_clients_token_and_ids_are_refused(staff: Api, admin: Api, scim_server: str) -> None:
    a = await scim_client(staff, admin, scim_server)
    b = await scim_client(staff, admin, scim_server)
    async with httpx.AsyncClient() as web:
        user_a = (
            await web.post(f"{a.base}/Users", json={"schemas": [USER], "userName": "ann@a.example"}, headers=a.headers())
        ).json()
        team_a = a.world.team["id"]
        # B's token on A's endpoint: 401 for every path, never A's data
        for path in ("/Users", f"/Users/{user_a['id']}", "/Groups", f"/Groups/{team_a}", "/ServiceProviderConfig"):
            r = await web.get(a.base + path, headers=b.headers())
            assert r.status_code == 401, (path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            assert "ann@a.example" not in r.text
        r = await web.patch(
            f"{a.base}/Users/{user_a['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
            headers=b.headers(),
        )
        assert r.status_code == 401
        assert (await web.delete(f"{a.base}/Users/{user_a['id']}", headers=b.headers())).status_code == 401
        # A's ids on B's own endpoint: 404, as if they did not exist
        for path in (f"/Users/{user_a['id']}", f"/Groups/{team_a}"):
            r = await web.get(b.base + path, headers=b.headers())
            assert r.status_code == 404, (path, r.text)
            assert r.json()["status"] == "404"
        r = await web.delete(f"{b.base}/Users/{user_a['id']}", headers=b.headers())
        assert r.status_code == 404
        listed = (await web.get(f"{b.base}/Users", headers=b.headers(), params={"filter": 'userName eq "ann@a.example"'})).json()
        assert listed["totalResults"] == 0
        # A's user is untouched
        assert (await web.get(f"{a.base}/Users/{user_a['id']}", headers=a.headers())).json()["active"] is True


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer slscim_wrong", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000])
async def test_a_missing_or_wrong_token_is_401(staff: Api, admin: Api, scim_server: str, auth: str | None) -> None:
    a = await scim_client(staff, admin, scim_server)
    headers = {"Authorization": auth} if auth else {}
    async with httpx.AsyncClient() as web:
        r = await web.get(f"{a.base}/Users", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Bearer realm="seatlease SCIM"')
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "401"


async def test_unknown_client_and_malformed_ids(staff: Api, admin: Api, scim_server: str) -> None:
    a = await scim_client(staff, admin, scim_server)
    async with httpx.AsyncClient() as web:
        assert (await web.get(f"{scim_server}/scim/v2/clients/not-a-uuid/Users", headers=a.headers())).status_code == 401
        r = await web.get(f"{a.base}/Users/not-a-uuid", headers=a.headers())
        assert r.status_code == 404
        r = await web.get(f"{a.base}/Users", headers=a.headers(), params={"filter": "userName eq"})
        assert r.status_code == 400
        assert r.json()["scimType"] == "invalidFilter"
        r = await web.post(f"{a.base}/Users", headers=a.headers(), json={"schemas": [USER]})
        assert r.status_code == 400  # userName is required
        made = await web.post(f"{a.base}/Users", headers=a.headers(), json={"schemas": [USER], "userName": "dup@a.example"})
        assert made.status_code == 201
        r = await web.post(f"{a.base}/Users", headers=a.headers(), json={"schemas": [USER], "userName": "DUP@a.example"})
        assert r.status_code == 409
        assert r.json()["scimType"] == "uniqueness"


async def test_issue_rotate_revoke_and_only_the_hash_is_kept(
    staff: Api, admin: Api, scim_server: str, client_login: ClientLogin, db: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a = await scim_client(staff, admin, scim_server)
    cid = a.client_id
    owner = await client_login(cid, "client_admin")
    status = await owner.get(f"/v1/clients/{cid}/scim-token")
    assert status["active"] is True
    assert status["endpoint"].endswith(f"/scim/v2/clients/{cid}")
    assert "token" not in status
    # the client's admin rotates: the old token stops at once, the new one works
    rotated = await owner.post(f"/v1/clients/{cid}/scim-token", None, expect=200)
    assert rotated["rotations"] == 1
    new = rotated["token"]
    async with httpx.AsyncClient() as web:
        assert (await web.get(f"{a.base}/Users", headers=a.headers())).status_code == 401
        assert (await web.get(f"{a.base}/Users", headers={"Authorization": f"Bearer {new}"})).status_code == 200
        stored = await db.fetchval("SELECT token_hash FROM scim_tokens WHERE client_id = $1::uuid", cid)
        assert stored == hashlib.sha256(new.encode()).hexdigest()
        dumped = await db.fetchval("SELECT string_agg(row_to_json(t)::text, ' ') FROM scim_tokens t")
        assert new not in dumped
        audit = await db.fetchval(
            "SELECT string_agg(coalesce(after::text, ''), ' ') FROM audit_events WHERE client_id = $1::uuid", cid
        )
        assert new not in audit
        # revoked: every call is refused until a new token is issued
        revoked = await owner.call("DELETE", f"/v1/clients/{cid}/scim-token", 200)
        assert revoked.json()["active"] is False
        assert (await web.get(f"{a.base}/Users", headers={"Authorization": f"Bearer {new}"})).status_code == 401
        await owner.call("DELETE", f"/v1/clients/{cid}/scim-token", 404)
    assert new not in caplog.text
    assert a.token not in caplog.text


async def test_who_may_manage_the_token(staff: Api, admin: Api, scim_server: str, client_login: ClientLogin) -> None:
    a = await scim_client(staff, admin, scim_server)
    b = await scim_client(staff, admin, scim_server)
    other_admin = await client_login(b.client_id, "client_admin")
    viewer = await client_login(a.client_id, "client_viewer")
    await other_admin.call("POST", f"/v1/clients/{a.client_id}/scim-token", 404)
    await other_admin.call("GET", f"/v1/clients/{a.client_id}/scim-token", 404)
    await other_admin.call("DELETE", f"/v1/clients/{a.client_id}/scim-token", 404)
    await viewer.call("POST", f"/v1/clients/{a.client_id}/scim-token", 403)
    await staff.call("POST", f"/v1/clients/{a.client_id}/scim-token", 403)
    await admin.call("POST", "/v1/clients/00000000-0000-0000-0000-000000000000/scim-token", 404)
    async with httpx.AsyncClient() as web:
        assert (await web.get(f"{a.base}/Users", headers=a.headers())).status_code == 200  # untouched


async def test_concurrent_first_issues_leave_exactly_one_working_token(staff: Api, admin: Api, scim_server: str) -> None:
    from tests.factories import make_world

    w = await make_world(staff)
    cid = w.client["id"]
    answers = await asyncio.gather(*(admin.call("POST", f"/v1/clients/{cid}/scim-token") for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    base = f"{scim_server}/scim/v2/clients/{cid}"
    async with httpx.AsyncClient() as web:
        codes = [
            (await web.get(f"{base}/Users", headers={"Authorization": f"Bearer {a.json()['token']}"})).status_code
            for a in answers
        ]
    assert sorted(codes) == [200, 401, 401, 401]


async def test_concurrent_first_users_share_one_holding_team(staff: Api, admin: Api, scim_server: str) -> None:
    c = await scim_client(staff, admin, scim_server)
    async with httpx.AsyncClient(base_url=c.base, headers=c.headers()) as idp:
        made = await asyncio.gather(
            *(idp.post("/Users", json={"schemas": [USER], "userName": f"u{i}@c.example"}) for i in range(4)),
            idp.post("/Users", json={"schemas": [USER], "userName": "same@c.example"}),
            idp.post("/Users", json={"schemas": [USER], "userName": "same@c.example"}),
        )
    codes = [m.status_code for m in made]
    assert codes[:4] == [201] * 4, [m.text for m in made]
    assert sorted(codes[4:]) == [201, 409], [m.text for m in made[4:]]
    teams = (await staff.get(f"/v1/clients/{c.client_id}/teams"))["items"]
    assert [t["name"] for t in teams].count("Unassigned (identity provider)") == 1


async def test_an_address_guessing_tokens_is_throttled(staff: Api, admin: Api, scim_server: str, app: FastAPI) -> None:
    a = await scim_client(staff, admin, scim_server)
    limit = app.state.settings.login_address_max_failures
    async with httpx.AsyncClient() as web:
        for i in range(limit):
            r = await web.get(f"{a.base}/Users", headers={"Authorization": f"Bearer slscim_guess{i}"})
            assert r.status_code == 401
        r = await web.get(f"{a.base}/Users", headers={"Authorization": "Bearer slscim_one-more"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["status"] == "429"
        # the guesses cost the address, not the client: from here even the right token waits
        assert (await web.get(f"{a.base}/Users", headers=a.headers())).status_code == 429
