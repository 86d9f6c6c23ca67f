"""The admin's webhooks page (issue 14) in Chromium: an admin makes a facility endpoint (an unsafe URL
is refused beside its field; the secret is shown once), sees every client's endpoints, and on an
endpoint's page its delivery log (status, attempts, last error, response code), redelivers an event
and resumes a paused endpoint. Other staff are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login, shot
from tests.conftest import make_user
from tests.factories import Api, ClientLogin, lease_body, make_world
from tests.webhooks.conftest import drain, open_targets, sender, subscribe  # noqa: F401  (open_targets: a fixture)
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.usefixtures("open_targets")


async def test_admin_makes_a_facility_endpoint_and_works_a_delivery_log(
    page: Page, app: FastAPI, staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    await db.execute("DELETE FROM webhook_endpoints")
    w = await make_world(staff, zones=1, seats_per_zone=4)
    client = await client_login(w.client["id"])
    try:
        with receiver() as rx:
            ep = await subscribe(client, rx, "adm", ["lease.confirmed"], description="WFM sync")
            await staff.post("/v1/leases", lease_body(w, seat_count=1))
            rx.fail_next = 100
            cfg = sender(app, pause_after_failures=2, pause_after_seconds=0.0)
            t0 = datetime.now(UTC)
            await drain(app.state.sessionmaker, cfg, t0)
            await drain(app.state.sessionmaker, cfg, t0 + timedelta(hours=1))

            email, _ = await make_user(db, "admin", password=PASSWORD)
            await login(page, email)
            await page.goto("/admin/webhooks")
            assert await page.locator("nav >> text=Webhooks").count() >= 1
            # an unsafe URL is refused beside its field
            await page.fill("#new-webhook-form input[name=url]", "https://169.254.169.254/latest/meta-data/")
            await page.click("#new-webhook-form button[type=submit]")
            error = page.locator("#url-error")
            assert "169.254.169.254" in await error.inner_text()
            assert (
                await page.locator("#new-webhook-form input[name=url]").input_value()
                == "https://169.254.169.254/latest/meta-data/"
            )
            # a public address: made, its secret shown once
            await page.fill("#new-webhook-form input[name=url]", "https://1.1.1.1/seatlease")
            await page.fill("#new-webhook-form input[name=description]", "Facility BI")
            await page.click("#new-webhook-form button[type=submit]")
            secret = await page.locator("#secret-value").input_value()
            assert secret.startswith("whsec_")
            assert await page.locator("#facility-endpoints tr[data-endpoint='https://1.1.1.1/seatlease']").count() == 1
            row = page.locator(f"#client-endpoints tr[data-endpoint='{rx.url('adm')}']")
            assert "paused" in await row.inner_text()
            await shot(page, "webhooks")
            await page.goto("/admin/webhooks")
            assert await page.locator("#secret-value").count() == 0  # shown once

            # the client's endpoint: paused, its delivery held with the last error and response code
            await row.locator("a").first.click()
            await page.wait_for_url(f"**/admin/webhooks/{ep['id']}")
            assert "HTTP 500" in await page.locator("#endpoint").inner_text()
            delivery = page.locator("#deliveries-table tbody tr[data-delivery]")
            assert await delivery.count() == 1
            text = await delivery.inner_text()
            assert "held" in text
            assert "500" in text
            await shot(page, "webhook-detail")
            # the receiver recovers: resume, deliver, then redeliver from the log
            rx.fail_next = 0
            await page.click("#endpoint form[action$='/resume'] button")
            assert "Resumed" in await page.locator(".flash").first.inner_text()
            await drain(app.state.sessionmaker, cfg)
            assert len(rx.at("adm")) == 1
            await page.reload()
            assert "delivered" in await page.locator("#deliveries-table tbody tr[data-delivery]").inner_text()
            await page.click("#deliveries-table button:has-text('redeliver')")
            assert "queued again" in await page.locator(".flash").first.inner_text()
            await drain(app.state.sessionmaker, cfg)
            assert [g.event_id for g in rx.at("adm")] == [rx.at("adm")[0].event_id] * 2
            # deleting asks first, on its own page; going back changes nothing
            await page.click("#endpoint form[action$='/delete'] button")
            assert rx.url("adm") in await page.locator("#confirm-question").inner_text()
            assert len(await client.get("/v1/webhook-endpoints")) == 1
            await page.click("#confirm-btn")
            await page.wait_for_url(re.compile(r".*/admin/webhooks\?flash=.*"))
            assert await client.get("/v1/webhook-endpoints") == []
    finally:
        await db.execute("DELETE FROM webhook_endpoints")


async def test_other_staff_may_not_open_the_webhooks_page(page: Page, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    r = await page.goto("/admin/webhooks")
    assert r is not None
    assert r.status == 403
