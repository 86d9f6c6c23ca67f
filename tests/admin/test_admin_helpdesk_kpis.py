"""The help desk's KPIs in the admin, in Chromium (issue 15): the dashboard's card says what the API says and
leads to the KPIs page; the page's filters (site, period, bucket) give the API's figures, its charts are
inline SVG under the strict policy, its problematic assets link to the device and the seat; a bad period is
named at its field; finance sees it too."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login, shot, text_of
from tests.conftest import make_user
from tests.factories import Api, make_world
from tests.test_helpdesk_kpis import at, ticket


async def test_dashboard_card_and_kpis_page(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, floors=2)
    site_id = w.site["id"]
    device = await staff.post("/v1/devices", {"serial": f"HS-{uuid.uuid4().hex[:8]}", "kind": "headset", "site_id": site_id})
    h = timedelta(hours=1)
    seat = uuid.UUID(w.seats[0]["id"])
    for i, day in enumerate(("2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-24")):
        t = at(f"{day}T0{i}:00")
        times = {"responded_at": t + h, "resolved_at": t + (i + 2) * h}
        times |= {"response_due_at": t + 2 * h, "resolution_due_at": t + 4 * h}
        await ticket(db, w, "device", "high", t, device_id=uuid.UUID(device["id"]), seat_id=seat, status="closed", **times)
    t = at("2026-03-10T02:00")
    await ticket(db, w, "power", "urgent", t, responded_at=t + h / 4, resolved_at=t + 3 * h, status="resolved",
                 response_due_at=t + h / 2, resolution_due_at=t + 2 * h)  # fmt: skip
    now = datetime.now(UTC)
    await ticket(db, w, "network", "normal", now - 2 * h)  # open now: on the dashboard's card
    api = await staff.get("/v1/helpdesk/kpis", params={"site_id": site_id, "from": "2026-03-01", "to": "2026-03-31"})
    card = (await staff.get("/v1/helpdesk/kpis"))["totals"]

    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    box = page.locator("#helpdesk-kpis")
    assert await text_of(box.locator("#helpdesk-opened")) == f"{card['opened']} · {card['resolved']}"
    assert int(await text_of(box.locator("#helpdesk-open"))) >= 1
    await box.scroll_into_view_if_needed()
    await shot(page, "admin-dashboard-helpdesk")

    await page.click("#helpdesk-kpis-link")
    await page.wait_for_url(re.compile(r".*/admin/helpdesk/kpis$"))
    await page.select_option("#kpi-site", site_id)
    await page.fill("#kpi-from", "2026-03-01")
    await page.fill("#kpi-to", "2026-03-31")
    await page.click("#kpi-show")
    await page.wait_for_url(re.compile(r".*/admin/helpdesk/kpis\?site_id=.*&from=2026-03-01&to=2026-03-31.*"))
    t = api["totals"]
    assert await text_of(page.locator("#kpi-opened")) == str(t["opened"]) == "6"
    assert await text_of(page.locator("#kpi-resolved")) == "6"
    # resolution: 2, 3, 3, 4, 5, 6 h → p50 3h30, p90 5h30; response p50 1h (five of six in 1 h)
    assert await text_of(page.locator("#kpi-resolution")) == "3h 30m · 5h 30m"
    assert await text_of(page.locator("#kpi-response")) == "1h 00m · 1h 00m"
    # resolution due in 4 h (device) and 2 h (power): three of six met → 50.0 %; every response in time
    assert t["sla_resolution"]["compliance"] == 0.5
    assert await text_of(page.locator("#kpi-sla-resolution")) == "50.0%"
    assert await text_of(page.locator("#kpi-sla-response")) == "100.0%"
    row = page.locator('#kpi-by-category tr[data-key="device"] td')
    assert [await text_of(row.nth(i)) for i in (1, 2)] == ["5", "5"]
    # charts: incidents per day by category, resolution by category, by floor, by shift
    assert await page.locator("#kpi-over-time svg.chart rect").count() >= 6
    assert await page.locator("#kpi-resolution-chart svg.chart").count() == 1
    assert await page.locator("#kpi-floors svg.chart").count() == 1
    assert await page.locator("#kpi-shifts svg.chart").count() == 1
    assert "1F" in await text_of(page.locator("#kpi-floors table"))
    # the problematic assets: the headset (5 tickets) and its seat (5), linked to their pages
    assets = page.locator("#kpi-assets tbody tr")
    assert await assets.count() == 2
    link = page.locator(f'#kpi-assets tr[data-asset="{device["id"]}"] a')
    assert await link.get_attribute("href") == f"/admin/devices?serial={device['serial']}"
    seat_link = page.locator(f'#kpi-assets tr[data-asset="{seat}"] a')
    assert (await seat_link.get_attribute("href") or "").startswith(f"/admin/sites/{site_id}/map?")
    await shot(page, "admin-helpdesk-kpis")
    assert violations == []
    await seat_link.click()
    await page.wait_for_url(re.compile(rf".*/admin/sites/{site_id}/map\?.*"))

    # a period the wrong way round: named at its field, nothing drawn
    response = await page.goto("/admin/helpdesk/kpis?from=2026-03-31&to=2026-03-01")
    assert response is not None
    assert response.status == 422
    assert "to is before from" in await text_of(page.locator("#kpi-filters"))
    assert await page.locator("svg.chart").count() == 0


async def test_finance_reads_the_kpis_page(page: Page, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "finance", password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.click("nav >> text=Help desk KPIs")
    await page.wait_for_url(re.compile(r".*/admin/helpdesk/kpis$"))
    assert await page.locator("#kpi-cards").count() == 1
    response = await page.goto("/admin/helpdesk/kpis?bucket=month")
    assert response is not None
    assert response.status == 422
    assert "bucket is day or week" in await text_of(page.locator("#kpi-filters"))
