"""The console's front door (issue 13): `/` leads to the admin, a favicon, and /docs rendered by the
app's own Swagger UI in headless Chromium with every request off this machine refused."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page, Route

from tests.admin.conftest import shot


async def test_root_leads_to_the_admin_and_favicon_is_served(live_http: httpx.Client) -> None:
    r = await asyncio.to_thread(live_http.get, "/")
    assert r.status_code == 307
    assert r.headers["location"] == "/admin/"
    for path in ("/favicon.ico", "/favicon.svg"):
        icon = await asyncio.to_thread(live_http.get, path)
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.text.startswith("<svg")
    redoc = await asyncio.to_thread(live_http.get, "/redoc")
    assert redoc.status_code == 308
    assert redoc.headers["location"] == "/docs"
    login = await asyncio.to_thread(live_http.get, "/admin/login")
    assert 'rel="icon" href="/favicon.svg"' in login.text
    docs = await asyncio.to_thread(live_http.get, "/docs")
    assert "cdn." not in docs.text
    assert "https://" not in docs.text


async def test_docs_render_on_a_closed_network(page: Page) -> None:
    outside: list[str] = []

    async def only_this_machine(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith("data:"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_this_machine)
    await page.goto("/")  # the front door: the admin's login
    await page.wait_for_url(re.compile(r".*/admin/login"))
    await page.goto("/docs")
    await page.locator(".opblock").first.wait_for()
    # every operation of the API is drawn (Swagger UI 5.35 stopped after the first dozen of ~140)
    spec = await (await page.request.get("/openapi.json")).json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert operations > 100
    await page.wait_for_function(f"document.querySelectorAll('.opblock').length === {operations}", timeout=20_000)
    summaries = await page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.startswith("/v1/audit-events") for p in summaries), summaries[:5]
    assert "Audit events, newest first (admin)" in await page.locator("#operations-operations-audit_events").inner_text()
    await shot(page, "docs-offline")
    assert outside == [], outside
