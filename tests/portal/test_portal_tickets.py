"""The portal's tickets (issue 15) in Chromium: a client's admin raises a ticket about its leased seat and
the device on it (with a photo), follows the public timeline, comments, reopens within the window and
confirms the resolution; internal notes never show; a viewer reads and cannot act; a wrong seat is
refused beside its field."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from playwright.async_api import Page

from tests.browser import shot
from tests.factories import Api, lease_body, uniq
from tests.portal.conftest import PortalClient, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
NOTE = "internal: vendor RMA 99, supplier late"


async def _leased(staff: Api, db: asyncpg.Pool, pc: PortalClient) -> tuple[dict[str, Any], str]:
    w = pc.world
    today = datetime.now(ZoneInfo(w.site["timezone"])).date().isoformat()
    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date=today, seat_count=2))
    device = await staff.post("/v1/devices", {"serial": uniq("HS"), "kind": "headset", "site_id": w.site["id"]})
    await db.execute(
        "UPDATE devices SET seat_id = $1, status = 'assigned' WHERE id = $2",
        uuid.UUID(lease["seats"][0]["id"]),
        uuid.UUID(device["id"]),
    )
    return lease, str(device["id"])


async def test_a_client_admin_raises_follows_reopens_and_confirms_a_ticket(
    page: Page, staff: Api, db: asyncpg.Pool, portal_client: PortalClient, tmp_path: Path
) -> None:
    lease, device_id = await _leased(staff, db, portal_client)
    seat = lease["seats"][0]
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.click("nav >> text=Tickets")
    await page.wait_for_url(re.compile(r".*/portal/tickets$"))
    await page.click("#raise-ticket")
    await page.wait_for_url(re.compile(r".*/portal/tickets/new$"))
    await page.fill("#subject", "Headset dead on " + seat["label"])
    await page.select_option("#category", "device")
    await page.select_option("#priority", "high")
    await page.select_option("#seat_id", seat["id"])
    await page.select_option("#device_id", device_id)
    await page.select_option("#member_id", index=1)
    await page.fill("#description", "No sound since 02:00.\nTried another port.")
    photo = tmp_path / "headset.png"
    photo.write_bytes(PNG)
    await page.set_input_files("#file", str(photo))
    await shot(page, "portal-ticket-new")
    await page.click("#submit-ticket")
    await page.wait_for_url(re.compile(r".*/portal/tickets/[0-9a-f-]{36}\?flash=.*"))
    ticket_id = page.url.rsplit("/", 1)[1].split("?")[0]
    assert "raised" in await page.locator(".flash").inner_text()
    assert seat["label"] in await page.locator("#ticket-seat").inner_text()
    # the facility's targets, on the site's clock
    assert (await page.locator("#answer-due").inner_text()).startswith("by ")
    assert (await page.locator("#fix-due").inner_text()).startswith("by ")
    link = page.locator("#timeline a[download]")
    assert await link.inner_text() == "headset.png"

    t = await staff.get(f"/v1/tickets/{ticket_id}")
    assert (t["raised_via"], t["lease_id"], t["priority"]) == ("portal", lease["id"], "high")
    await staff.post(f"/v1/tickets/{ticket_id}/status", {"status": "acknowledged"}, expect=200)
    await staff.post(f"/v1/tickets/{ticket_id}/comments", {"body": NOTE, "internal": True})
    await staff.post(f"/v1/tickets/{ticket_id}/comments", {"body": "Swapping it now"})
    await staff.post(f"/v1/tickets/{ticket_id}/status", {"status": "resolved", "resolution": "Headset replaced"}, expect=200)

    await page.reload()
    timeline = await page.locator("#timeline").inner_text()
    assert "Swapping it now" in timeline
    assert NOTE not in await page.content()
    assert "Headset replaced" in await page.locator("#resolution").inner_text()
    await shot(page, "portal-ticket-resolved")
    # not fixed after all: reopen with a word
    await page.fill("#reopen-body", "Still crackles on the left")
    await page.click("#reopen")
    await page.wait_for_url(re.compile(rf".*/portal/tickets/{ticket_id}\?flash=.*"))
    assert "Reopened" in await page.locator(".flash").inner_text()
    t = await staff.get(f"/v1/tickets/{ticket_id}")
    assert (t["status"], t["reopened_count"]) == ("in_progress", 1)
    assert "Still crackles on the left" in await page.locator("#timeline").inner_text()
    # a comment of its own, then the fix is confirmed
    await page.fill("#body", "Thanks, agent is on a spare seat meanwhile")
    await page.click("#send-comment")
    await page.wait_for_url(re.compile(r".*flash=Comment.*"))
    await staff.post(f"/v1/tickets/{ticket_id}/status", {"status": "resolved", "resolution": "Cable replaced"}, expect=200)
    await page.reload()
    await page.click("#confirm-resolved")
    await page.wait_for_url(re.compile(r".*flash=Confirmed.*"))
    assert (await staff.get(f"/v1/tickets/{ticket_id}"))["status"] == "closed"
    assert await page.locator("#comment").count() == 0  # a closed ticket takes no more comments
    await shot(page, "portal-ticket-closed")
    # the list shows it under "Resolved and closed"
    await page.goto("/portal/tickets?state=closed")
    row = page.locator(f"tr[data-ticket='T-{t['number']}']")
    assert await row.count() == 1
    # its instants on the site's clock, named by the site's zone
    zone = (await staff.get(f"/v1/sites/{t['site_id']}"))["timezone"]
    assert zone in await row.inner_text()
    await shot(page, "portal-tickets")
    # the photo downloads as a file
    async with page.expect_download() as dl:
        await page.goto(f"/portal/tickets/{ticket_id}")
        await page.click("#timeline a[download]")
    assert (await (await dl.value).path()).read_bytes() == PNG


async def test_a_wrong_seat_is_refused_beside_its_field_and_a_viewer_only_reads(
    staff: Api, db: asyncpg.Pool, portal_client: PortalClient, page: Page
) -> None:
    lease, _ = await _leased(staff, db, portal_client)
    seats = lease["seats"]
    free = next(s for s in portal_client.world.seats if s["id"] not in {x["id"] for x in seats})
    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto("/portal/tickets/new")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    form = {"csrf_token": token, "seat_id": free["id"], "category": "network", "priority": "normal", "subject": "No line"}
    r = await page.request.post("/portal/tickets/new", form=form)
    assert r.status == 422
    html = await r.text()
    assert "not on a seat this client leases" in html
    assert 'id="seat_id-error"' in html
    r = await page.request.post("/portal/tickets/new", form={**form, "seat_id": seats[1]["id"], "subject": " "})
    assert r.status == 422
    assert 'id="subject-error"' in await r.text()
    # about no one seat: the site alone (a badge reader at a door)
    site_only = {
        **form,
        "seat_id": "",
        "site_id": portal_client.world.site["id"],
        "category": "access",
        "subject": "Door 2 reader",
    }
    r = await page.request.post("/portal/tickets/new", form=site_only, max_redirects=0)
    assert r.status == 303
    made = await staff.get(f"/v1/tickets?client_id={portal_client.client_id}&category=access")
    assert [(x["subject"], x["seat_id"], x["site_id"]) for x in made["items"]] == [
        ("Door 2 reader", None, portal_client.world.site["id"])
    ]
    t = await staff.post(
        "/v1/tickets",
        {"client_id": portal_client.client_id, "category": "power", "subject": "Power work", "seat_id": seats[1]["id"]},
    )
    # a viewer reads the ticket, and has neither the raise button nor the forms
    await page.context.clear_cookies()
    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto("/portal/tickets")
    assert await page.locator("#raise-ticket").count() == 0
    await page.goto(f"/portal/tickets/{t['id']}")
    assert "Power work" in await page.locator("h1").inner_text()
    assert await page.locator("#comment").count() == 0
    r2 = await page.goto("/portal/tickets/new")
    assert r2 is not None
    assert r2.status == 403
