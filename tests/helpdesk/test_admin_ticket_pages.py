"""The admin's ticket pages in the browser: raise a ticket for a client about a seat (by its label) with
a file, then work it: acknowledge, assign to me, an internal note and a comment, wait on the client (the
SLA stands still), re-classify (the SLA follows), resolve only with the resolution's text. The client
never sees the internal note."""

from __future__ import annotations

import re
import uuid

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api
from tests.helpdesk.conftest import Desk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_raise_and_work_a_ticket_in_the_admin(page: Page, desk: Desk, db: asyncpg.Pool, tmp_path: object) -> None:
    email = await staff_login(db)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/tickets")
    await page.click("#ticket-new")
    await page.wait_for_url(re.compile(r".*/admin/tickets/new$"))
    await page.select_option("#site_id", desk.w.site["id"])
    await page.select_option("#client_id", desk.w.client["id"])
    await page.fill("#seat", "NO-SUCH-SEAT")
    await page.select_option("#category", "power")
    await page.select_option("#priority", "urgent")
    await page.fill("#subject", "No power on the seat")
    await page.click("#ticket-raise")
    assert "no seat with this label" in await text_of(page.locator("#ticket-new-form"))
    await page.fill("#seat", desk.seats[0]["label"])
    await page.set_input_files("#file", files=[{"name": "breaker.png", "mimeType": "image/png", "buffer": PNG}])
    await page.check("#file-internal")
    await page.click("#ticket-raise")
    await page.wait_for_url(re.compile(r".*/admin/tickets/[0-9a-f-]{36}\?flash="))
    ticket_id = uuid.UUID(page.url.split("/admin/tickets/")[1].split("?")[0])
    row = await db.fetchrow("SELECT * FROM tickets WHERE id = $1", ticket_id)
    assert row["raised_via"] == "admin"
    assert str(row["seat_id"]) == desk.seats[0]["id"]
    assert row["response_due_at"] is not None  # the SLA hook ran
    assert await page.locator('.sla-clock[data-clock="first answer"]').get_attribute("data-state") == "running"
    assert "breaker.png" in await text_of(page.locator("#timeline"))
    assert await page.locator("#timeline li.tl-internal").count() == 1  # the internal file

    await page.click("#ticket-ack")
    await page.wait_for_url(re.compile(r".*flash=Status"))
    assert await page.locator('.sla-clock[data-clock="first answer"]').get_attribute("data-state") == "met"
    await page.click("#assign-me")
    await page.wait_for_url(re.compile(r".*flash=Assigned"))
    assert await text_of(page.locator("#ticket-assignee")) == email
    await page.fill("#comment-body", "Breaker 3 tripped; electrician called")
    await page.check("#comment-internal")
    await page.click("#comment-send")
    await page.wait_for_url(re.compile(r".*flash=Internal"))
    await page.fill("#comment-body", "We are on it: power back within the hour")
    await page.click("#comment-send")
    await page.wait_for_url(re.compile(r".*flash=Comment"))

    await page.select_option("#status", "waiting_on_client")
    await page.click("#status-save")
    await page.wait_for_url(re.compile(r".*flash=Status"))
    assert await page.locator('.sla-clock[data-clock="resolution"]').get_attribute("data-state") == "paused"
    assert "standing still since" in await text_of(page.locator("#ticket-sla"))
    await page.select_option("#status", "in_progress")
    await page.click("#status-save")
    await page.wait_for_url(re.compile(r".*flash=Status"))

    before = await db.fetchval("SELECT resolution_due_at FROM tickets WHERE id = $1", ticket_id)
    await page.select_option("#triage-priority", "low")
    await page.click("#triage-save")
    await page.wait_for_url(re.compile(r".*flash=Re-classified"))
    after = await db.fetchval("SELECT resolution_due_at FROM tickets WHERE id = $1", ticket_id)
    assert after > before  # low: 5 days instead of 4 h

    await page.select_option("#status", "resolved")
    await page.click("#status-save")
    assert "say what resolved it" in await text_of(page.locator("#status-form"))
    await page.select_option("#status", "resolved")
    await page.fill("#resolution", "Breaker replaced")
    await page.click("#status-save")
    await page.wait_for_url(re.compile(r".*flash=Status"))
    assert await text_of(page.locator("#ticket-resolution")) == "Breaker replaced"
    assert await page.locator('.sla-clock[data-clock="resolution"]').get_attribute("data-state") == "met"
    timeline = await text_of(page.locator("#timeline"))
    assert "Breaker 3 tripped" in timeline
    assert "internal" in await text_of(page.locator("#timeline li.tl-note"))
    await shot(page, "helpdesk-ticket")

    # the client reads its ticket without the internal note and file
    seen = await desk.client.get(f"/v1/tickets/{ticket_id}/comments")
    assert [c["body"] for c in seen["items"]] == ["We are on it: power back within the hour"]


async def test_the_ticket_page_is_staff_only_and_a_missing_ticket_is_404(page: Page, db: asyncpg.Pool, staff: Api) -> None:
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    response = await page.goto("/admin/tickets")
    assert response is not None
    assert response.status == 403
    await page.goto("/admin/logout")
    await page.context.clear_cookies()
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    response = await page.goto(f"/admin/tickets/{uuid.uuid4()}")
    assert response is not None
    assert response.status == 404
