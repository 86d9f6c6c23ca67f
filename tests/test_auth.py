"""Token endpoint (password and client_credentials grants), token checks and roles (PRODUCT.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from jose import jwt

from service.auth import ALGORITHM, hash_secret
from service.settings import get_settings
from tests.conftest import make_user, token_for
from tests.factories import Api, ClientLogin, lease_body, make_world, uniq


def _claims(**over: Any) -> dict[str, Any]:
    s = get_settings()
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "cid": None,
        "name": "forged",
        "iss": s.jwt_issuer,
        "aud": s.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "knd": "user",
        "ver": 0,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not ...}


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _is_problem(r: httpx.Response, status: int) -> bool:
    return r.status_code == status and r.headers["content-type"].startswith("application/problem+json")


async def test_password_grant_and_wrong_password(http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, password = await make_user(db, "facility_staff")
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email.upper(), "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 3600
    claims = jwt.get_unverified_claims(body["access_token"])
    assert claims["role"] == "facility_staff"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == ALGORITHM
    ok = await http.get("/v1/sites", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert ok.status_code == 200

    for data in (
        {"grant_type": "password", "username": email, "password": password + "x"},
        {"grant_type": "password", "username": "nobody@seatlease-example.com", "password": password},
    ):
        r = await http.post("/v1/auth/token", data=data)
        assert _is_problem(r, 401), r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert password not in r.text

    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email})
    assert _is_problem(r, 422)
    assert r.json()["field"] == "username"
    r = await http.post("/v1/auth/token", data={"grant_type": "authorization_code", "code": "x"})
    assert _is_problem(r, 422)
    assert r.json()["field"] == "grant_type"
    r = await http.post("/v1/auth/token", data={})
    assert _is_problem(r, 422)
    assert r.json()["field"] == "grant_type"


async def test_a_deactivated_login_gets_no_token(http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, password = await make_user(db, "finance")
    await db.execute("UPDATE users SET active = false WHERE email = $1", email)
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert _is_problem(r, 401)


async def test_client_credentials_grant(http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api) -> None:
    mine = await staff.post("/v1/clients", {"legal_name": f"Machine {uniq()}", "billing_email": "m@machine-example.com"})
    other = await staff.post("/v1/clients", {"legal_name": f"Other {uniq()}", "billing_email": "o@machine-example.com"})
    key, secret = f"ck_{uuid.uuid4().hex[:12]}", f"cs_{uuid.uuid4().hex}"
    await db.execute(
        "INSERT INTO api_clients (client_key, secret_hash, role, client_id) VALUES ($1, $2, 'client_admin', $3)",
        key,
        hash_secret(secret),
        uuid.UUID(mine["id"]),
    )
    stored = await db.fetchval("SELECT secret_hash FROM api_clients WHERE client_key = $1", key)
    assert secret not in stored

    r = await http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret})
    assert r.status_code == 200, r.text
    api = Api(http, r.json()["access_token"])
    assert (await api.get(f"/v1/clients/{mine['id']}"))["id"] == mine["id"]
    r404 = await api.call("GET", f"/v1/clients/{other['id']}")
    assert _is_problem(r404, 404)
    assert [c["id"] for c in (await api.get("/v1/clients"))["items"]] == [mine["id"]]

    for data in (
        {"grant_type": "client_credentials", "client_id": key, "client_secret": secret + "x"},
        {"grant_type": "client_credentials", "client_id": "ck_unknown", "client_secret": secret},
    ):
        r = await http.post("/v1/auth/token", data=data)
        assert _is_problem(r, 401)
    r = await http.post("/v1/auth/token", data={"grant_type": "client_credentials", "client_id": key})
    assert _is_problem(r, 422)
    assert r.json()["field"] == "client_id"


def _forged_tokens() -> dict[str, str]:
    s = get_settings()
    now = int(time.time())
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
        "alg none, no dot": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}",
        "HS512 with the right key": jwt.encode(_claims(), s.secret_key, algorithm="HS512"),
        "HS256 with another key": jwt.encode(_claims(), "another-key-" + "x" * 32, algorithm="HS256"),
        "wrong audience": jwt.encode(_claims(aud="someone-else"), s.secret_key, algorithm=ALGORITHM),
        "no audience": jwt.encode(_claims(aud=...), s.secret_key, algorithm=ALGORITHM),
        "wrong issuer": jwt.encode(_claims(iss="evil"), s.secret_key, algorithm=ALGORITHM),
        "no issuer": jwt.encode(_claims(iss=...), s.secret_key, algorithm=ALGORITHM),
        "client role without a client": jwt.encode(_claims(role="client_admin"), s.secret_key, algorithm=ALGORITHM),
        "unknown role": jwt.encode(_claims(role="root"), s.secret_key, algorithm=ALGORITHM),
        "expired": jwt.encode(_claims(iat=now - 4000, nbf=now - 4000, exp=now - 60), s.secret_key, algorithm=ALGORITHM),
        "no expiry": jwt.encode(_claims(exp=...), s.secret_key, algorithm=ALGORITHM),
        "no subject": jwt.encode(_claims(sub=...), s.secret_key, algorithm=ALGORITHM),
        "subject not a uuid": jwt.encode(_claims(sub="root"), s.secret_key, algorithm=ALGORITHM),
        "no token version": jwt.encode(_claims(ver=...), s.secret_key, algorithm=ALGORITHM),
        "token version not an integer": jwt.encode(_claims(ver="0"), s.secret_key, algorithm=ALGORITHM),
        "unknown account kind": jwt.encode(_claims(knd="robot"), s.secret_key, algorithm=ALGORITHM),
        "an account that does not exist": jwt.encode(_claims(), s.secret_key, algorithm=ALGORITHM),
        "garbage": "not.a.token",
        "empty": "",
    }


@pytest.mark.parametrize("name", list(_forged_tokens()))
async def test_forged_and_stale_tokens_are_refused(http: httpx.AsyncClient, name: str) -> None:
    token = _forged_tokens()[name]
    r = await http.get("/v1/audit-events", headers={"Authorization": f"Bearer {token}"})
    assert _is_problem(r, 401), (name, r.status_code, r.text)


async def test_the_right_token_is_accepted(http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    """The control for the forged tokens: the same claims, signed as the server signs, pass."""
    email, _ = await make_user(db, "admin")
    user_id = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    token = jwt.encode(_claims(sub=str(user_id)), get_settings().secret_key, algorithm=ALGORITHM)
    r = await http.get("/v1/audit-events", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


async def test_no_token_or_another_scheme(http: httpx.AsyncClient) -> None:
    assert _is_problem(await http.get("/v1/sites"), 401)
    assert _is_problem(await http.get("/v1/sites", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), 401)


async def test_roles(http: httpx.AsyncClient, db: asyncpg.Pool, admin: Api, client_login: ClientLogin) -> None:
    w = await make_world(admin)
    cid = w.client["id"]
    roles = {role: Api(http, await token_for(http, *await make_user(db, role))) for role in ("facility_staff", "finance")}
    roles["admin"] = admin
    roles["client_admin"] = await client_login(cid, "client_admin")
    roles["client_viewer"] = await client_login(cid, "client_viewer")
    lease = await admin.post("/v1/leases", lease_body(w, seat_count=1, discount_pct="50"))
    assert lease["status"] == "pending_approval"
    seat = w.seats[-1]["id"]
    site_body = {"code": uniq("R"), "name": "R", "timezone": "UTC", "currency": "USD", "tax_rate": "0"}
    matrix: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
        ("POST", "/v1/sites", site_body, {"finance": 403, "client_admin": 403, "client_viewer": 403}),
        (
            "GET",
            "/v1/sites",
            None,
            {"admin": 200, "facility_staff": 200, "finance": 200, "client_admin": 200, "client_viewer": 200},
        ),
        (
            "PATCH",
            f"/v1/seats/{seat}",
            {"status": "active"},
            {"finance": 403, "client_admin": 403, "client_viewer": 403, "facility_staff": 200},
        ),
        (
            "POST",
            "/v1/plans",
            {"site_id": w.site["id"], "name": "x", "monthly_price_minor": 1},
            {"finance": 403, "client_admin": 403, "client_viewer": 403},
        ),
        (
            "POST",
            "/v1/clients",
            {"legal_name": "x", "billing_email": "x@x-example.com"},
            {"finance": 403, "client_admin": 403, "client_viewer": 403},
        ),
        ("GET", f"/v1/clients/{cid}", None, {"finance": 200, "client_admin": 200, "client_viewer": 200}),
        ("POST", f"/v1/clients/{cid}/teams", {"name": uniq("T")}, {"finance": 403, "client_viewer": 403, "client_admin": 201}),
        ("POST", "/v1/leases", lease_body(w, seat_count=1, start_date="2032-01-01"), {"finance": 403, "client_viewer": 403}),
        ("POST", f"/v1/leases/{lease['id']}/approve", None, {"facility_staff": 403, "client_admin": 403, "client_viewer": 403}),
        ("GET", "/v1/devices", None, {"finance": 403, "client_admin": 403, "client_viewer": 403, "facility_staff": 200}),
        (
            "GET",
            "/v1/audit-events",
            None,
            {"facility_staff": 403, "finance": 403, "client_admin": 403, "client_viewer": 403, "admin": 200},
        ),
        (
            "GET",
            "/v1/reports/occupancy",
            None,
            {"client_admin": 403, "client_viewer": 403, "finance": 200, "facility_staff": 200},
        ),
        ("GET", f"/v1/leases/{lease['id']}", None, {"finance": 200, "client_viewer": 200, "client_admin": 200}),
    ]
    for method, path, body, expected in matrix:
        for role, status in expected.items():
            r = await roles[role].call(method, path, json=body)
            assert r.status_code == status, (role, method, path, r.status_code, r.text)
            if status >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
    # finance approves last, after everybody else was refused
    approved = await roles["finance"].post(f"/v1/leases/{lease['id']}/approve", expect=200)
    assert approved["status"] in ("confirmed", "active")


# ---- /metrics needs a token -------------------------------------------------------------------


async def test_metrics_need_a_staff_token_or_the_scrape_token(
    http: httpx.AsyncClient,
    db: asyncpg.Pool,
    database_url: str,
    staff: Api,
    finance: Api,
    client_login: ClientLogin,
) -> None:
    from pydantic import SecretStr

    from service.app import create_app

    r = await http.get("/metrics")
    assert _is_problem(r, 401)
    assert "seatlease_" not in r.text
    for api in (staff, finance):
        r = await http.get("/metrics", headers=api.headers)
        assert r.status_code == 200, r.text
        assert "seatlease_credentials" in r.text
    client = await staff.post("/v1/clients", {"legal_name": f"Peek {uniq()}", "billing_email": "p@peek-example.com"})
    for role in ("client_admin", "client_viewer"):
        r = await http.get("/metrics", headers=(await client_login(client["id"], role)).headers)
        assert _is_problem(r, 403), (role, r.status_code)
    # a staff token whose account was disabled is no token
    email, password = await make_user(db, "facility_staff")
    token = await token_for(http, email, password)
    await db.execute("UPDATE users SET active = false WHERE email = $1", email)
    assert _is_problem(await http.get("/metrics", headers={"Authorization": f"Bearer {token}"}), 401)

    scrape = "scrape-" + uuid.uuid4().hex
    app = create_app(settings=get_settings().model_copy(update={"metrics_token": SecretStr(scrape)}), database_url=database_url)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            r = await c.get("/metrics", headers={"Authorization": f"Bearer {scrape}"})
            assert r.status_code == 200
            assert "seatlease_credentials" in r.text
            for wrong in (scrape[:-1], scrape + "x", ""):
                assert _is_problem(await c.get("/metrics", headers={"Authorization": f"Bearer {wrong}"}), 401)
            assert _is_problem(await c.get("/metrics"), 401)
    finally:
        await app.state.engine.dispose()


# ---- creating a client's login reveals nothing about staff or other tenants -----------------------


async def test_creating_a_client_login_never_reveals_a_staff_or_other_tenants_email(
    http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api, client_login: ClientLogin
) -> None:
    mine = await staff.post("/v1/clients", {"legal_name": f"Mine {uniq()}", "billing_email": "a@mine-example.com"})
    other = await staff.post("/v1/clients", {"legal_name": f"Other {uniq()}", "billing_email": "o@other-example.com"})
    boss = await client_login(mine["id"], "client_admin")
    staff_email, staff_pw = await make_user(db, "admin")
    other_email, other_pw = await make_user(db, "client_viewer", uuid.UUID(other["id"]))
    fresh_email = f"fresh-{uuid.uuid4().hex[:8]}@seatlease-example.com"

    def shape(r: httpx.Response) -> tuple[int, str, list[str]]:
        return r.status_code, r.headers["content-type"], sorted(r.json())

    answers = {}
    for label, email in (("fresh", fresh_email), ("staff", staff_email), ("other tenant", other_email)):
        r = await boss.call(
            "POST",
            f"/v1/clients/{mine['id']}/users",
            json={"email": email, "password": f"client pw for {label}", "role": "client_viewer"},
        )
        answers[label] = r
        assert r.status_code == 201, (label, r.text)
        assert r.json()["email"] == email
        assert r.json()["client_id"] == mine["id"]
    assert shape(answers["fresh"]) == shape(answers["staff"]) == shape(answers["other tenant"])
    # within its own tenant an email is still unique: that tells the tenant only about itself
    r = await boss.call(
        "POST",
        f"/v1/clients/{mine['id']}/users",
        json={"email": staff_email, "password": "yet another password", "role": "client_admin"},
    )
    assert _is_problem(r, 409)
    assert r.json()["field"] == "email"

    async def role_of(email: str, password: str) -> tuple[str, str | None]:
        r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
        assert r.status_code == 200, r.text
        claims = jwt.get_unverified_claims(r.json()["access_token"])
        return claims["role"], claims["cid"]

    # each login works with its own password and opens its own account only
    assert await role_of(staff_email, staff_pw) == ("admin", None)
    assert await role_of(staff_email, "client pw for staff") == ("client_viewer", mine["id"])
    assert await role_of(other_email, other_pw) == ("client_viewer", other["id"])
    assert await role_of(other_email, "client pw for other tenant") == ("client_viewer", mine["id"])
    # the client's namesake never gets into the admin as staff, nor an admin token
    r = await http.post(
        "/v1/auth/token", data={"grant_type": "password", "username": staff_email, "password": "client pw for staff" + "x"}
    )
    assert _is_problem(r, 401)


async def test_a_password_that_opens_two_logins_opens_neither(http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api) -> None:
    """A tenant that guessed a staff password gains nothing: the login is refused, not resolved to staff."""
    client = await staff.post("/v1/clients", {"legal_name": f"Twin {uniq()}", "billing_email": "t@twin-example.com"})
    staff_email, password = await make_user(db, "admin")
    await db.execute(
        "INSERT INTO users (email, password_hash, role, client_id) VALUES ($1, $2, 'client_admin', $3)",
        staff_email,
        hash_secret(password),
        uuid.UUID(client["id"]),
    )
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": staff_email, "password": password})
    assert _is_problem(r, 401)


async def test_a_token_used_before_is_still_refused_once_expired_or_its_account_disabled(
    http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    """A process remembers the tokens it has verified (service/auth.py), so a token's second use
    costs no signature check; its expiry is still checked on every use, and its account's liveness
    is still read from the database on every request."""
    email, _ = await make_user(db, "admin")
    user_id = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    now = int(time.time())
    token = jwt.encode(_claims(sub=str(user_id), iat=now, nbf=now, exp=now + 2), get_settings().secret_key, algorithm=ALGORITHM)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/v1/audit-events", headers=auth)).status_code == 200
    assert (await http.get("/v1/audit-events", headers=auth)).status_code == 200  # the remembered token
    await asyncio.sleep(max(0.0, now + 3.1 - time.time()))  # past its expiry
    assert _is_problem(await http.get("/v1/audit-events", headers=auth), 401)

    fresh = jwt.encode(_claims(sub=str(user_id)), get_settings().secret_key, algorithm=ALGORITHM)
    auth = {"Authorization": f"Bearer {fresh}"}
    assert (await http.get("/v1/audit-events", headers=auth)).status_code == 200
    await db.execute("UPDATE users SET active = false WHERE id = $1", user_id)
    assert _is_problem(await http.get("/v1/audit-events", headers=auth), 401)
