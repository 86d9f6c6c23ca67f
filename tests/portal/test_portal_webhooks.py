"""The portal's webhooks (issue 14) in Chromium: a client's admin makes an endpoint for its own events
(an unsafe URL refused beside its field; the secret shown once), reads an endpoint's delivery log,
resumes a paused endpoint and redelivers; another client's endpoint is a 404 on every page and action;
a client viewer is refused."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page

from tests.browser import shot
from tests.factories import Api, ClientLogin, lease_body
from tests.portal.conftest import PortalClient, csrf_of, login, make_portal_client, portal_login
from tests.webhooks.conftest import drain, open_targets, sender, subscribe  # noqa: F401  (open_targets: a fixture)
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.usefixtures("open_targets")


async def test_a_client_admin_sets_up_endpoints_and_works_the_delivery_log(
    page: Page, app: FastAPI, staff: Api, client_login: ClientLogin, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    await db.execute("DELETE FROM webhook_endpoints")
    w = portal_client.world
    api = await client_login(portal_client.client_id)
    try:
        with receiver() as rx:
            ep = await subscribe(api, rx, "portal", ["lease.confirmed"], description="WFM")
            await staff.post("/v1/leases", lease_body(w, seat_count=1))
            rx.fail_next = 100
            cfg = sender(app, pause_after_failures=2, pause_after_seconds=0.0)
            t0 = datetime.now(UTC)
            await drain(app.state.sessionmaker, cfg, t0)
            await drain(app.state.sessionmaker, cfg, t0 + timedelta(hours=1))

            await login(page, portal_client.admin_email, where="/portal")
            await page.wait_for_url(re.compile(r".*/portal/$"))
            await page.click("nav >> text=Webhooks")
            await page.wait_for_url(re.compile(r".*/portal/webhooks$"))
            await page.fill("#new-webhook-form input[name=url]", "https://10.0.0.8/hook")
            await page.click("#new-webhook-form button[type=submit]")
            assert "10.0.0.8" in await page.locator("#url-error").inner_text()
            await page.fill("#new-webhook-form input[name=url]", "https://1.1.1.1/seatlease")
            await page.click("#new-webhook-form button[type=submit]")
            assert (await page.locator("#secret-value").input_value()).startswith("whsec_")
            made = await api.get("/v1/webhook-endpoints")
            assert {e["url"] for e in made} == {"https://1.1.1.1/seatlease", rx.url("portal")}
            assert all(e["client_id"] == portal_client.client_id for e in made)
            await shot(page, "portal-webhooks")

            await page.goto(f"/portal/webhooks/{ep['id']}")
            assert "HTTP 500" in await page.locator("#endpoint").inner_text()
            row = page.locator("#deliveries-table tbody tr[data-delivery]")
            assert "held" in await row.inner_text()
            await shot(page, "portal-webhook-detail")
            rx.fail_next = 0
            await page.click("#endpoint form[action$='/resume'] button")
            assert "Resumed: 1 held" in await page.locator(".flash").first.inner_text()
            await drain(app.state.sessionmaker, cfg)
            await page.reload()
            assert "delivered" in await row.inner_text()
            await page.click("#deliveries-table button:has-text('redeliver')")
            assert "queued again" in await page.locator(".flash").first.inner_text()
            await drain(app.state.sessionmaker, cfg)
            assert len(rx.at("portal")) == 2
            assert len({g.event_id for g in rx.at("portal")}) == 1
            # deleting asks first, on its own page
            await page.click("#endpoint form[action$='/delete'] button")
            assert rx.url("portal") in await page.locator("#confirm-question").inner_text()
            assert len(await api.get("/v1/webhook-endpoints")) == 2
            await page.click("#confirm-btn")
            await page.wait_for_url(re.compile(r".*/portal/webhooks\?flash=.*"))
            assert [e["url"] for e in await api.get("/v1/webhook-endpoints")] == ["https://1.1.1.1/seatlease"]
    finally:
        await db.execute("DELETE FROM webhook_endpoints")


async def test_another_clients_endpoint_is_404_on_every_portal_page_and_action(
    live_http: httpx.Client, staff: Api, client_login: ClientLogin, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    await db.execute("DELETE FROM webhook_endpoints")
    other = await make_portal_client(staff, db)
    theirs = await client_login(other.client_id)
    try:
        with receiver() as rx:
            ep = await subscribe(theirs, rx, "theirs", ["lease.confirmed"])
            await staff.post("/v1/leases", lease_body(other.world, seat_count=1))
        [d] = (await theirs.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]

        def walk() -> list[tuple[str, int]]:
            assert portal_login(live_http, portal_client.admin_email).status_code == 303
            listed = live_http.get("/portal/webhooks")
            assert listed.status_code == 200
            assert ep["url"] not in listed.text
            token = csrf_of(listed.text)
            out = [(f"GET /portal/webhooks/{ep['id']}", live_http.get(f"/portal/webhooks/{ep['id']}").status_code)]
            for action in ("rotate", "pause", "resume", "delete"):
                r = live_http.post(f"/portal/webhooks/{ep['id']}/{action}", data={"csrf_token": token})
                out.append((action, r.status_code))
            r = live_http.post(f"/portal/webhook-deliveries/{d['id']}/redeliver", data={"csrf_token": token})
            out.append(("redeliver", r.status_code))
            return out

        answers = await asyncio.to_thread(walk)
        assert {code for _, code in answers} == {404}, answers
        still = await theirs.get(f"/v1/webhook-endpoints/{ep['id']}")
        assert (still["status"], still["previous_secret_until"]) == ("active", None)

        def viewer() -> int:
            live_http.cookies.clear()
            assert portal_login(live_http, portal_client.viewer_email).status_code == 303
            return live_http.get("/portal/webhooks").status_code

        assert await asyncio.to_thread(viewer) == 403
    finally:
        await db.execute("DELETE FROM webhook_endpoints")
