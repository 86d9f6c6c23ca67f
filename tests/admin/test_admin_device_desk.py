"""The help desk's devices and money in the admin (issue 15), in a real browser: a ticket's swap form
(pick the replacement among the stock of that kind at that site; a refusal shown at its field), a
device's page with its history and repair desk, a ticket's downtime credits page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI
from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.providers.devices import reconcile_devices
from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, lease_body, make_world
from tests.provisioning.helpers import seated_lease, site_today
from tests.ticket_rows import make_ticket


def _maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return cast(async_sessionmaker[AsyncSession], app.state.sessionmaker)


async def _device(staff: Api, site_id: str, kind: str, **kw: Any) -> dict[str, Any]:
    return await staff.post(
        "/v1/devices", {"serial": f"{kind.upper()}-{uuid.uuid4().hex[:8]}", "kind": kind, "site_id": site_id, **kw}
    )


async def test_swap_form_and_the_devices_history_in_the_browser(page: Page, staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    maker = _maker(app)
    w = await make_world(staff)
    await _device(staff, w.site["id"], "pc")
    headset = await _device(staff, w.site["id"], "headset")
    lease = await seated_lease(staff, w, seats=1)
    async with maker() as session, session.begin():  # the provisioning pass places the seat's devices
        await reconcile_devices(session, uuid.UUID(w.site["id"]), site_today())
    spare = await _device(staff, w.site["id"], "headset", model="Jabra Evolve")
    gone = await _device(staff, w.site["id"], "headset")
    await _device(staff, w.site["id"], "monitor")  # another kind: not offered
    other = await make_world(staff)
    await _device(staff, other.site["id"], "headset")  # another site: not offered
    seat = lease["seats"][0]
    ticket = await make_ticket(maker, site_id=w.site["id"], seat_id=seat["id"], device_id=headset["id"], client_id=w.client["id"])

    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    # from the ticket's page (the staff desk's), its extras link to the swap form
    await page.goto(f"/admin/tickets/{ticket}")
    assert await page.locator("#ticket-credits-link").count() == 0, "a device ticket is no outage"
    await page.click("#ticket-swap-link")
    await page.wait_for_url(re.compile(rf".*/admin/tickets/{ticket}/swap$"))
    assert await page.input_value("#swap-faulty") == headset["id"]
    offered = await page.locator("#swap-replacement option[value]:not([value=''])").evaluate_all("os => os.map(o => o.value)")
    assert sorted(offered) == sorted([spare["id"], gone["id"]]), "only stock of the seat's kinds at the ticket's site"
    await shot(page, "ticket-swap-form")

    # the device picked is taken by someone else meanwhile: the refusal is shown at its field
    await page.select_option("#swap-replacement", gone["id"])
    await staff.call("PATCH", f"/v1/devices/{gone['id']}", 200, json={"status": "in_repair"})
    await page.click("#swap-submit")
    error = page.locator("#swap-replacement + .field-error, label:has(#swap-replacement) .field-error")
    await error.first.wait_for()
    assert "not in stock" in (await error.first.inner_text())
    assert await db.fetchval("SELECT status FROM devices WHERE id = $1", uuid.UUID(headset["id"])) == "assigned"

    await page.select_option("#swap-replacement", spare["id"])
    await page.fill("#swap-note", "left ear dead")
    await page.click("#swap-submit")
    await page.locator("#flash .flash").wait_for()
    assert "Swapped" in await page.locator("#flash").inner_text()
    row = await db.fetchrow("SELECT status, seat_id FROM devices WHERE id = $1", uuid.UUID(spare["id"]))
    assert (row["status"], str(row["seat_id"])) == ("assigned", seat["id"])
    assert await db.fetchval("SELECT status FROM devices WHERE id = $1", uuid.UUID(headset["id"])) == "in_repair"

    # the faulty device's page: its history with the ticket, and the repair desk
    await page.goto(f"/admin/devices/{headset['id']}")
    kinds = await page.locator("#history-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.kind)")
    assert kinds == ["swapped_out", "placed", "created"]
    assert "left ear dead" in await page.locator("#history-table").inner_text()
    assert "1 repair · 1 swap · 1 ticket" in await page.locator("#device-counts").inner_text()
    await page.select_option("#repair-action", "repaired")
    await page.fill("#repair-note", "new cable")
    await page.click("#repair-submit")
    await page.locator("#flash .flash").wait_for()
    assert await page.locator("#history-table tbody tr").first.get_attribute("data-kind") == "repaired"
    assert "in stock" in await page.locator("#device-status").inner_text()
    await shot(page, "device-history")
    # the inventory links each device to its page
    await page.goto(f"/admin/devices?q={headset['serial']}")
    await page.click(f"text={headset['serial']}")
    await page.wait_for_url(re.compile(rf".*/admin/devices/{headset['id']}$"))


async def test_credits_page_adds_seats_proposes_and_shows_the_computation(
    page: Page, staff: Api, db: asyncpg.Pool, app: FastAPI
) -> None:
    maker = _maker(app)
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date="2051-03-01", seat_count=2))
    first, second = lease["seats"]
    manila = ZoneInfo("Asia/Manila")
    ticket = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=first["id"],
        category="power",
        status="resolved",
        subject="Floor 1 power cut",
        occurred_at=datetime(2051, 3, 10, 1, tzinfo=manila).astimezone(UTC),
        resolved_at=datetime(2051, 3, 10, 5, tzinfo=manila).astimezone(UTC),
    )
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/tickets/{ticket}")
    await page.click("#ticket-credits-link")
    await page.wait_for_url(re.compile(rf".*/admin/tickets/{ticket}/credits$"))
    assert "No credit proposed yet" in await page.locator("#no-credits").inner_text()
    assert (await page.locator("#outage-from").inner_text()).startswith("2051-03-10 01:00")  # the site's clock
    await page.fill("#add-seat-label", "NO-SUCH-SEAT")
    await page.click("#add-seat-submit")
    await page.locator("#affected-seats .field-error").wait_for()
    assert "no seat" in await page.locator("#affected-seats .field-error").inner_text()
    await page.fill("#add-seat-label", second["label"])
    await page.click("#add-seat-submit")
    await page.locator("#flash .flash").wait_for()
    labels = await page.locator("#seat-list li").evaluate_all("ls => ls.map(l => l.dataset.label)")
    assert sorted(labels) == sorted([first["label"], second["label"]])
    await page.click("#propose-submit")
    await page.locator(".credit").wait_for()
    text = await page.locator(".credit").inner_text()
    # FULL: 4 of March's 744 hours, per seat: 1,500,000 x 4 / 744 = 8,064.5 -> 8,065 each
    assert "8.00 h lost" in text
    assert text.count("FULL") == 2
    assert "awaiting invoice" in text
    assert "Waits for the 2051-03 invoice" in text
    amount = await db.fetchval("SELECT amount_minor FROM downtime_credits WHERE ticket_id = $1", uuid.UUID(ticket))
    assert amount == 2 * 8_065
    assert await page.locator("#add-seat-form").count() == 0, "the seats are frozen once credits are proposed"
    assert await page.locator("#propose-submit").count() == 0
    await shot(page, "ticket-credits")
