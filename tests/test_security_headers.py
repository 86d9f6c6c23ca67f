"""/admin pages send CSP, no-framing, no-sniffing and referrer headers, and HSTS behind TLS (issue 8)."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI

from service.admin.web import HERE
from service.settings import get_settings
from tests.conftest import make_user
from tests.test_sessions import admin_cookie


def assert_secure(r: httpx.Response, *, hsts: bool) -> None:
    csp = r.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    if hsts:
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    else:
        assert "strict-transport-security" not in r.headers


async def test_login_and_signed_in_pages_send_the_security_headers(
    app: FastAPI, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    r = await http.get("/admin/login")
    assert r.status_code == 200
    assert_secure(r, hsts=False)
    email, password = await make_user(db, "facility_staff")
    cookie = await admin_cookie(app, email, password)
    for path in ("/admin/", "/admin/leases", "/admin/static/admin.js"):
        r = await http.get(path, headers={"Cookie": f"sl_admin={cookie}"})
        assert r.status_code == 200, (path, r.status_code)
        assert_secure(r, hsts=False)
    # error pages and redirects to the login too
    assert_secure(await http.get("/admin/no-such-page", headers={"Cookie": f"sl_admin={cookie}"}), hsts=False)
    assert_secure(await http.get("/admin/leases"), hsts=False)


async def test_hsts_when_served_over_tls(app: FastAPI, database_url: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as tls:
        assert_secure(await tls.get("/admin/login"), hsts=True)
    from service.app import create_app

    secure = create_app(settings=get_settings().model_copy(update={"cookie_secure": True}), database_url=database_url)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=secure), base_url="http://testserver") as c:
            assert_secure(await c.get("/admin/login"), hsts=True)
    finally:
        await secure.state.engine.dispose()


def test_templates_carry_no_inline_script_the_policy_would_block() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|hx-on", re.IGNORECASE)
    found = {p.name: inline.findall(p.read_text()) for p in Path(HERE / "templates").glob("*.html")}
    assert {k: v for k, v in found.items() if v} == {}
