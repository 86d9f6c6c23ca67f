"""People and keys (issue 13): logins listed, created, disabled, reset; API credentials made,
rotated and revoked; every one tenant-isolated."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx

from tests.conftest import make_user, token_for
from tests.factories import Api, ClientLogin, uniq

PASSWORD = "correct horse battery"


async def _client(admin: Api) -> str:
    c = await admin.post("/v1/clients", {"legal_name": f"People {uniq()} Inc.", "billing_email": "ap@client-example.com"})
    return str(c["id"])


async def _token(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})


async def _machine_token(http: httpx.AsyncClient, key: str, secret: str) -> httpx.Response:
    return await http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- logins ----------------------------------------------------------------------------------


async def test_admin_lists_creates_filters_and_pages_logins(admin: Api, http: httpx.AsyncClient) -> None:
    cid = await _client(admin)
    made = []
    for i in range(3):
        made.append(
            await admin.post(
                "/v1/users",
                {
                    "email": f"p{i}-{uniq().lower()}@client-example.com",
                    "role": "client_viewer",
                    "client_id": cid,
                    "password": PASSWORD,
                },
            )
        )
    page = await admin.get(f"/v1/users?client_id={cid}&limit=2")
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await admin.get(f"/v1/users?client_id={cid}&limit=2&cursor={page['next_cursor']}")
    assert {u["id"] for u in page["items"] + rest["items"]} == {u["id"] for u in made}
    assert all(u["temporary_password"] is None for u in made)
    await admin.call("PATCH", f"/v1/users/{made[0]['id']}", json={"active": False}, expect=200)
    inactive = await admin.get(f"/v1/users?client_id={cid}&active=false")
    assert [u["id"] for u in inactive["items"]] == [made[0]["id"]]
    staff_only = await admin.get("/v1/users?role=admin&limit=500")
    assert staff_only["items"]
    assert all(u["role"] == "admin" and u["client_id"] is None for u in staff_only["items"])
    # a staff role with a client, or a client role without: 409 naming the field
    r = await admin.call("POST", "/v1/users", json={"email": "x@client-example.com", "role": "finance", "client_id": cid})
    assert r.status_code == 409
    assert r.json()["field"] == "client_id"


async def test_a_temporary_password_must_be_changed_before_anything_else(admin: Api, http: httpx.AsyncClient) -> None:
    email = f"temp-{uniq().lower()}@seatlease-example.com"
    made = await admin.post("/v1/users", {"email": email, "role": "facility_staff"})
    temporary = made["temporary_password"]
    assert temporary
    assert made["password_change"] == "required"
    token = (await _token(http, email, temporary)).json()["access_token"]
    r = await http.get("/v1/sites", headers=_bearer(token))
    assert r.status_code == 403
    assert "temporary password" in r.json()["detail"]
    r = await http.post(
        "/v1/auth/password", headers=_bearer(token), json={"current_password": temporary, "new_password": PASSWORD + "!"}
    )
    assert r.status_code == 204
    token = (await _token(http, email, PASSWORD + "!")).json()["access_token"]
    assert (await http.get("/v1/sites", headers=_bearer(token))).status_code == 200
    listed = await admin.get(f"/v1/users?email={email}")
    assert listed["items"][0]["password_change"] is None


async def test_a_reset_link_works_once_and_ends_the_sessions(admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, password = await make_user(db, "finance")
    old_token = await token_for(http, email, password)
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    out = await admin.call("POST", f"/v1/users/{uid}/password-reset", json={"method": "link"}, expect=200)
    body = out.json()
    token = body["token"]
    assert body["reset_url"].endswith("/admin/password-reset#token=" + token)
    # only the hash is kept
    stored = await db.fetchval("SELECT token_hash FROM password_resets WHERE user_id = $1 AND used_at IS NULL", uid)
    assert stored
    assert token not in stored
    assert await db.fetchval("SELECT count(*) FROM password_resets WHERE token_hash = $1", token) == 0
    new = "brand new password 1"
    r = await http.post("/v1/auth/password-reset", json={"token": token, "new_password": new})
    assert r.status_code == 204, r.text
    assert (await http.get("/v1/sites", headers=_bearer(old_token))).status_code == 401
    assert (await _token(http, email, new)).status_code == 200
    assert (await _token(http, email, password)).status_code == 401
    # used twice: refused
    r = await http.post("/v1/auth/password-reset", json={"token": token, "new_password": "another password 2"})
    assert r.status_code == 404
    assert r.json()["field"] == "token"
    assert (await _token(http, email, new)).status_code == 200


async def test_an_expired_or_superseded_reset_link_is_refused(admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "finance")
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    first = (await admin.call("POST", f"/v1/users/{uid}/password-reset", json={}, expect=200)).json()["token"]
    second = (await admin.call("POST", f"/v1/users/{uid}/password-reset", json={}, expect=200)).json()["token"]
    r = await http.post("/v1/auth/password-reset", json={"token": first, "new_password": "superseded pass"})
    assert r.status_code == 404
    await db.execute("UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE user_id = $1", uid)
    r = await http.post("/v1/auth/password-reset", json={"token": second, "new_password": "expired link pass"})
    assert r.status_code == 404


async def test_two_concurrent_uses_of_one_reset_link_one_wins(admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "finance")
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    token = (await admin.call("POST", f"/v1/users/{uid}/password-reset", json={}, expect=200)).json()["token"]
    answers = await asyncio.gather(
        *(http.post("/v1/auth/password-reset", json={"token": token, "new_password": f"racing password {i}"}) for i in range(2))
    )
    assert sorted(a.status_code for a in answers) == [204, 404]


async def test_a_temporary_password_reset_ends_sessions_at_once(admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, password = await make_user(db, "facility_staff")
    token = await token_for(http, email, password)
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    out = (await admin.call("POST", f"/v1/users/{uid}/password-reset", json={"method": "temporary_password"}, expect=200)).json()
    assert out["temporary_password"]
    assert out["token"] is None
    assert (await http.get("/v1/sites", headers=_bearer(token))).status_code == 401
    assert (await _token(http, email, password)).status_code == 401
    assert (await _token(http, email, out["temporary_password"])).status_code == 200


async def test_nobody_disables_themselves_nor_the_last_admin(http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, password = await make_user(db, "admin")
    me = Api(http, await token_for(http, email, password))
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    r = await me.call("PATCH", f"/v1/users/{uid}", json={"active": False})
    assert r.status_code == 409
    assert r.json()["field"] == "active"


async def test_a_client_admin_manages_only_its_own_logins(admin: Api, client_login: ClientLogin, http: httpx.AsyncClient) -> None:
    mine, theirs = await _client(admin), await _client(admin)
    boss = await client_login(mine, "client_admin")
    viewer = await client_login(mine, "client_viewer")
    other = await admin.post(
        "/v1/users",
        {"email": f"o-{uniq().lower()}@client-example.com", "role": "client_viewer", "client_id": theirs, "password": PASSWORD},
    )
    # its own client's login, client_id left out
    made = await boss.post("/v1/users", {"email": f"m-{uniq().lower()}@client-example.com", "role": "client_viewer"})
    assert made["client_id"] == mine
    assert made["temporary_password"]
    listed = await boss.get("/v1/users?limit=500")
    assert {u["client_id"] for u in listed["items"]} == {mine}
    assert (await boss.get(f"/v1/users?client_id={theirs}"))["items"] == []
    # another tenant's login: as if it did not exist
    for method, path, body in (
        ("PATCH", f"/v1/users/{other['id']}", {"active": False}),
        ("POST", f"/v1/users/{other['id']}/password-reset", {"method": "link"}),
    ):
        assert (await boss.call(method, path, json=body)).status_code == 404
    r = await boss.call("POST", "/v1/users", json={"email": "x@client-example.com", "role": "client_viewer", "client_id": theirs})
    assert r.status_code == 404
    r = await boss.call("POST", "/v1/users", json={"email": "x@client-example.com", "role": "admin"})
    assert r.status_code == 403
    # a viewer, facility staff and finance manage no logins
    for caller in (viewer,):
        assert (await caller.call("GET", "/v1/users")).status_code == 403
        assert (await caller.call("POST", f"/v1/users/{made['id']}/password-reset", json={})).status_code == 403


async def test_staff_and_finance_manage_no_logins(staff: Api, finance: Api) -> None:
    for caller in (staff, finance):
        assert (await caller.call("GET", "/v1/users")).status_code == 403
        assert (await caller.call("GET", "/v1/api-credentials")).status_code == 403


# ---- API credentials ---------------------------------------------------------------------------


async def test_a_credential_is_made_used_listed_rotated_and_revoked(
    admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    cid = await _client(admin)
    made = await admin.post("/v1/api-credentials", {"name": "HRIS sync", "role": "client_viewer", "client_id": cid})
    key, secret = made["client_key"], made["client_secret"]
    assert made["last_used_at"] is None
    assert made["created_by"]
    # never stored plain
    stored = await db.fetchval("SELECT secret_hash FROM api_clients WHERE id = $1", uuid.UUID(made["id"]))
    assert secret not in stored
    assert stored.startswith("$argon2")
    r = await _machine_token(http, key, secret)
    assert r.status_code == 200
    token = r.json()["access_token"]
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 200
    listed = await admin.get(f"/v1/api-credentials?client_id={cid}")
    assert [c["id"] for c in listed["items"]] == [made["id"]]
    assert listed["items"][0]["last_used_at"] is not None
    assert "client_secret" not in listed["items"][0]

    rotated = await admin.post(f"/v1/api-credentials/{made['id']}/rotate", expect=200)
    assert rotated["client_key"] == key
    assert rotated["client_secret"] != secret
    assert (await _machine_token(http, key, secret)).status_code == 401
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 401
    token = (await _machine_token(http, key, rotated["client_secret"])).json()["access_token"]
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 200

    revoked = await admin.post(f"/v1/api-credentials/{made['id']}/revoke", expect=200)
    assert revoked["active"] is False
    assert revoked["revoked_at"]
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 401
    assert (await _machine_token(http, key, rotated["client_secret"])).status_code == 401
    assert (await admin.call("POST", f"/v1/api-credentials/{made['id']}/rotate")).status_code == 409
    actions = await db.fetchval("SELECT array_agg(action ORDER BY id) FROM audit_events WHERE object_id = $1", made["id"])
    assert actions == ["api_client.create", "api_client.rotate", "api_client.revoke"]


async def test_concurrent_rotations_leave_one_valid_secret(admin: Api, http: httpx.AsyncClient) -> None:
    made = await admin.post("/v1/api-credentials", {"name": "race", "role": "finance"})
    answers = await asyncio.gather(*(admin.call("POST", f"/v1/api-credentials/{made['id']}/rotate") for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    secrets = [a.json()["client_secret"] for a in answers] + [made["client_secret"]]
    results = [(await _machine_token(http, made["client_key"], s)).status_code for s in secrets]
    assert results.count(200) == 1, results


async def test_a_client_admin_keeps_to_its_own_credentials(admin: Api, client_login: ClientLogin) -> None:
    mine, theirs = await _client(admin), await _client(admin)
    boss = await client_login(mine, "client_admin")
    viewer = await client_login(mine, "client_viewer")
    own = await boss.post("/v1/api-credentials", {"name": "own", "role": "client_viewer"})
    assert own["client_id"] == mine
    other = await admin.post("/v1/api-credentials", {"name": "theirs", "role": "client_admin", "client_id": theirs})
    assert [c["id"] for c in (await boss.get("/v1/api-credentials?limit=500"))["items"]] == [own["id"]]
    for path in (f"/v1/api-credentials/{other['id']}/rotate", f"/v1/api-credentials/{other['id']}/revoke"):
        assert (await boss.call("POST", path)).status_code == 404
    r = await boss.call("POST", "/v1/api-credentials", json={"name": "x", "role": "client_viewer", "client_id": theirs})
    assert r.status_code == 404
    r = await boss.call("POST", "/v1/api-credentials", json={"name": "x", "role": "finance"})
    assert r.status_code == 403
    for method, path in (("GET", "/v1/api-credentials"), ("POST", f"/v1/api-credentials/{own['id']}/rotate")):
        assert (await viewer.call(method, path)).status_code == 403


async def test_a_disabled_users_existing_token_is_refused(admin: Api, http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    cid = await _client(admin)
    email, password = await make_user(db, "client_admin", uuid.UUID(cid))
    token = await token_for(http, email, password)
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 200
    uid = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    await admin.call("PATCH", f"/v1/users/{uid}", json={"active": False}, expect=200)
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 401
    await admin.call("PATCH", f"/v1/users/{uid}", json={"active": True}, expect=200)
    assert (await http.get(f"/v1/clients/{cid}/teams", headers=_bearer(token))).status_code == 401  # still ended
    assert (await _token(http, email, password)).status_code == 200


async def test_my_account_password_change_ends_other_sessions_and_keeps_this_one(
    http: httpx.AsyncClient, db: asyncpg.Pool, app: Any
) -> None:
    import re

    from tests.test_sessions import admin_cookie, admin_page, sent_to_login, signed_in

    email, password = await make_user(db, "finance")
    mine, other = await admin_cookie(app, email), await admin_cookie(app, email)
    token = await token_for(http, email, password)
    page = await http.get("/admin/account", headers={"Cookie": f"sl_admin={mine}"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "current_password": password, "new_password": "changed it 12", "confirm_password": "x"}
    r = await http.post("/admin/account/password", data=form, headers={"Cookie": f"sl_admin={mine}"})
    assert r.status_code == 422
    assert "the two new passwords differ" in r.text
    form["confirm_password"] = "changed it 12"
    r = await http.post("/admin/account/password", data=form, headers={"Cookie": f"sl_admin={mine}"})
    assert r.status_code == 303
    renewed = r.cookies["sl_admin"]
    assert signed_in(await admin_page(http, renewed))
    assert sent_to_login(await admin_page(http, mine))
    assert sent_to_login(await admin_page(http, other))
    assert (await http.get("/v1/sites", headers=_bearer(token))).status_code == 401
    assert (await _token(http, email, "changed it 12")).status_code == 200
