"""The admin's edges over plain HTTP (no browser): redirects, error pages, and the API left as it was."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx

from tests.admin.conftest import PASSWORD
from tests.conftest import make_user


def admin_login(http: httpx.Client, email: str, next_: str = "/admin/") -> httpx.Response:
    page = http.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return http.post("/admin/login", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD, "next": next_})


async def test_login_never_redirects_off_the_admin(live_http: httpx.Client, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    r = admin_login(live_http, email, next_="//evil.example.com/admin")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/"
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie or "SameSite=Lax" in set_cookie


async def test_wrong_password_is_a_form_error_not_a_crash(live_http: httpx.Client, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "finance", password=PASSWORD)
    page = await asyncio.to_thread(live_http.get, "/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await asyncio.to_thread(
        live_http.post, "/admin/login", data={"csrf_token": token.group(1), "email": email, "password": "nope"}
    )
    assert r.status_code == 401
    assert "Wrong email or password" in r.text
    assert f'value="{email}"' in r.text  # what was typed stays


async def test_admin_errors_are_pages_and_api_errors_stay_problem_json(
    live_http: httpx.Client, db: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    email, _ = await make_user(db, "admin", password=PASSWORD)
    admin_login(live_http, email)
    r = await asyncio.to_thread(live_http.get, "/admin/leases/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "lease not found" in r.text
    r = await asyncio.to_thread(live_http.get, "/admin/leases/not-a-uuid")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    # the API's own error shape is untouched by the admin's handlers
    r = await http.get("/v1/leases/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_admin_static_files_are_served_by_the_app(live_http: httpx.Client) -> None:
    r = await asyncio.to_thread(live_http.get, "/admin/static/admin.css")
    assert r.status_code == 200
    assert "seatmap" in r.text
