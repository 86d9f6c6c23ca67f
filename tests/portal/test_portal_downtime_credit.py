"""A downtime credit reaches the client as any credit note (issue 15): once issued it is in the portal's
credit notes, with the outage's reason; the proposal itself (hours, lines) stays staff's."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI
from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin.test_admin_invoices import bill, invoice_of
from tests.browser import shot
from tests.factories import Api, lease_body
from tests.portal.conftest import PortalClient, login
from tests.ticket_rows import make_ticket

YEAR = 2190  # a year of its own (the portal's finance tests count up from 2150)


async def test_the_client_sees_its_issued_downtime_credit_note(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool, app: FastAPI, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await staff.post("/v1/leases", lease_body(w, shift="NIGHT", seat_count=1, start_date=f"{YEAR}-01-01"))
    await bill(finance, f"{YEAR}-01")
    inv = await invoice_of(finance, w, f"{YEAR}-01")
    manila = ZoneInfo("Asia/Manila")
    maker = cast(async_sessionmaker[AsyncSession], app.state.sessionmaker)
    ticket = await make_ticket(
        maker,
        site_id=w.site["id"],
        seat_id=lease["seats"][0]["id"],
        client_id=w.client["id"],
        category="network",
        status="resolved",
        occurred_at=datetime(YEAR, 1, 15, 22, tzinfo=manila).astimezone(UTC),
        resolved_at=datetime(YEAR, 1, 16, 4, tzinfo=manila).astimezone(UTC),
    )
    (c,) = (await staff.post(f"/v1/tickets/{ticket}/downtime-credits", expect=200))["credits"]
    assert c["credit_note"]["status"] == "issued"
    assert c["invoice_id"] == inv["id"]

    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto("/portal/credit-notes")
    row = page.locator(f'tr[data-credit-note="{c["credit_note"]["id"]}"]')
    assert await row.count() == 1
    await row.locator("a").first.click()
    await page.wait_for_url(re.compile(rf".*/portal/credit-notes/{c['credit_note']['id']}$"))
    text = await page.locator("main").inner_text()
    assert "6.00 leased hours lost to outage" in text
    assert "month_leased_hours" not in await page.content()
    await shot(page, "portal-downtime-credit-note")
    assert await db.fetchval("SELECT count(*) FROM credit_notes WHERE invoice_id = $1", uuid.UUID(inv["id"])) == 1
