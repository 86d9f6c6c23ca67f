"""Sessions are live (PRODUCT.md rule 13): disabling a login, changing its password or logging out
ends its API tokens and its admin session at once, with no wait."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from service.auth import hash_secret
from tests.conftest import make_user, token_for
from tests.factories import Api, ClientLogin, uniq

PASSWORD = "correct horse battery"


@pytest.fixture
async def fresh(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own (the shared one must not carry an admin cookie)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def admin_cookie(app: FastAPI, email: str, password: str = PASSWORD) -> str:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/admin/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        r = await c.post("/admin/login", data={"csrf_token": csrf.group(1), "email": email, "password": password})
        assert r.status_code == 303, r.text
        return str(r.cookies["sl_admin"])


async def admin_page(http: httpx.AsyncClient, cookie: str) -> httpx.Response:
    return await http.get("/admin/leases", headers={"Cookie": f"sl_admin={cookie}"})


def signed_in(r: httpx.Response) -> bool:
    return r.status_code == 200


def sent_to_login(r: httpx.Response) -> bool:
    return r.status_code == 303 and r.headers["location"].startswith("/admin/login")


async def api_ok(http: httpx.AsyncClient, token: str) -> int:
    return (await http.get("/v1/sites", headers={"Authorization": f"Bearer {token}"})).status_code


async def user_id(db: asyncpg.Pool, email: str) -> uuid.UUID:
    return uuid.UUID(str(await db.fetchval("SELECT id FROM users WHERE email = $1 AND client_id IS NULL", email)))


async def test_disabling_a_login_ends_its_tokens_and_admin_session_at_once(
    http: httpx.AsyncClient, db: asyncpg.Pool, app: FastAPI, admin: Api
) -> None:
    email, password = await make_user(db, "facility_staff")
    token, other_token = await token_for(http, email, password), await token_for(http, email, password)
    cookie = await admin_cookie(app, email)
    assert await api_ok(http, token) == 200
    assert signed_in(await admin_page(http, cookie))

    uid = await user_id(db, email)
    out = await admin.call("PATCH", f"/v1/users/{uid}", json={"active": False}, expect=200)
    assert out.json()["active"] is False
    for t in (token, other_token):
        r = await http.get("/v1/sites", headers={"Authorization": f"Bearer {t}"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    assert sent_to_login(await admin_page(http, cookie))
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 401
    action = await db.fetchval("SELECT array_agg(action) FROM audit_events WHERE object_id = $1", str(uid))
    assert "user.disable" in action

    # enabled again: the old sessions stay ended, a new sign-in works
    await admin.call("PATCH", f"/v1/users/{uid}", json={"active": True}, expect=200)
    assert await api_ok(http, token) == 401
    assert sent_to_login(await admin_page(http, cookie))
    assert await api_ok(http, await token_for(http, email, password)) == 200

    # bad input is named and changes nothing
    r = await admin.call("PATCH", f"/v1/users/{uid}", json={"active": "no"})
    assert r.status_code == 422
    assert r.json()["field"] == "active"
    r = await admin.call("PATCH", f"/v1/users/{uuid.uuid4()}", json={"active": False})
    assert r.status_code == 404


async def test_changing_a_password_ends_its_sessions(http: httpx.AsyncClient, db: asyncpg.Pool, app: FastAPI) -> None:
    email, password = await make_user(db, "finance")
    token = await token_for(http, email, password)
    cookie = await admin_cookie(app, email)
    auth = {"Authorization": f"Bearer {token}"}

    r = await http.post(
        "/v1/auth/password", headers=auth, json={"current_password": "not it", "new_password": "a brand new secret"}
    )
    assert r.status_code == 401
    assert r.json()["field"] == "current_password"
    r = await http.post("/v1/auth/password", headers=auth, json={"current_password": password, "new_password": "short"})
    assert r.status_code == 422
    assert r.json()["field"] == "new_password"
    assert await api_ok(http, token) == 200  # refusals change nothing

    r = await http.post(
        "/v1/auth/password", headers=auth, json={"current_password": password, "new_password": "a brand new secret"}
    )
    assert r.status_code == 204, r.text
    assert await api_ok(http, token) == 401
    assert sent_to_login(await admin_page(http, cookie))
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 401
    assert await api_ok(http, await token_for(http, email, "a brand new secret")) == 200
    stored = await db.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    assert "a brand new secret" not in stored


async def test_logout_ends_every_session_of_the_caller(http: httpx.AsyncClient, db: asyncpg.Pool, app: FastAPI) -> None:
    email, password = await make_user(db, "admin")
    first, second = await token_for(http, email, password), await token_for(http, email, password)
    cookie = await admin_cookie(app, email)
    bystander_email, bystander_pw = await make_user(db, "admin")
    bystander = await token_for(http, bystander_email, bystander_pw)

    r = await http.post("/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204
    assert await api_ok(http, first) == 401
    assert await api_ok(http, second) == 401
    assert sent_to_login(await admin_page(http, cookie))
    assert await api_ok(http, bystander) == 200  # only the caller's sessions end


async def test_the_admin_sign_out_ends_the_api_tokens_too(
    http: httpx.AsyncClient, db: asyncpg.Pool, app: FastAPI, fresh: httpx.AsyncClient
) -> None:
    email, password = await make_user(db, "facility_staff")
    token = await token_for(http, email, password)
    page = await fresh.get("/admin/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await fresh.post("/admin/login", data={"csrf_token": csrf.group(1), "email": email, "password": password})
    assert r.status_code == 303
    stolen = str(r.cookies["sl_admin"])  # a copy of the cookie, as a thief would keep it
    home = await fresh.get("/admin/leases")
    assert home.status_code == 200
    assert 'action="/admin/logout"' in home.text  # the Sign out button
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    assert csrf is not None
    r = await fresh.post("/admin/logout", data={"csrf_token": csrf.group(1)})
    assert sent_to_login(r)
    assert sent_to_login(await admin_page(http, stolen))
    assert await api_ok(http, token) == 401


async def test_a_client_admin_disables_only_its_own_tenants_logins(
    http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api, client_login: ClientLogin
) -> None:
    mine = await staff.post("/v1/clients", {"legal_name": f"Mine {uniq()}", "billing_email": "a@mine-example.com"})
    other = await staff.post("/v1/clients", {"legal_name": f"Other {uniq()}", "billing_email": "o@other-example.com"})
    boss = await client_login(mine["id"], "client_admin")
    viewer_email, viewer_pw = await make_user(db, "client_viewer", uuid.UUID(mine["id"]))
    viewer_token = await token_for(http, viewer_email, viewer_pw)
    viewer_id = await db.fetchval("SELECT id FROM users WHERE email = $1", viewer_email)
    stranger_email, _ = await make_user(db, "client_viewer", uuid.UUID(other["id"]))
    stranger_id = await db.fetchval("SELECT id FROM users WHERE email = $1", stranger_email)
    staff_email, _ = await make_user(db, "admin")
    staff_id = await user_id(db, staff_email)

    for target in (stranger_id, staff_id):  # not its tenant's: as if it did not exist
        r = await boss.call("PATCH", f"/v1/users/{target}", json={"active": False})
        assert r.status_code == 404, r.text
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = ANY($1) AND active", [stranger_id, staff_id]) == 2
    viewer = Api(http, viewer_token)
    r = await viewer.call("PATCH", f"/v1/users/{viewer_id}", json={"active": False})
    assert r.status_code == 403
    r = await staff.call("PATCH", f"/v1/users/{viewer_id}", json={"active": False})
    assert r.status_code == 403  # facility staff do not manage logins; the admin does

    await boss.call("PATCH", f"/v1/users/{viewer_id}", json={"active": False}, expect=200)
    assert await api_ok(http, viewer_token) == 401


async def test_a_machine_client_stops_working_when_deactivated(http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api) -> None:
    client = await staff.post("/v1/clients", {"legal_name": f"Robot {uniq()}", "billing_email": "r@robot-example.com"})
    key, secret = f"ck_{uuid.uuid4().hex[:12]}", f"cs_{uuid.uuid4().hex}"
    await db.execute(
        "INSERT INTO api_clients (client_key, secret_hash, role, client_id) VALUES ($1, $2, 'client_admin', $3)",
        key,
        hash_secret(secret),
        uuid.UUID(client["id"]),
    )

    async def machine_token() -> str:
        r = await http.post(
            "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    token = await machine_token()
    assert await api_ok(http, token) == 200
    await db.execute("UPDATE api_clients SET active = false WHERE client_key = $1", key)
    assert await api_ok(http, token) == 401
    await db.execute("UPDATE api_clients SET active = true WHERE client_key = $1", key)
    assert await api_ok(http, token) == 200  # an enabled client's unexpired tokens work again
    r = await http.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    assert await api_ok(http, token) == 401
    assert await api_ok(http, await machine_token()) == 200
