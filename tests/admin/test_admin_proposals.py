"""Proposals in the admin, in headless Chromium: the booking preview's numbers are the API's quote;
the previewed lease is sent as a proposal (seats held), its PDF downloaded and read, then withdrawn."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, attr, login, shot
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


def _money(minor: int) -> str:
    return f"PHP {minor / 100:,.2f}"


def _seat(w: Any, label: str) -> str:
    return str(next(s["id"] for s in w.seats if s["label"] == label))


async def test_preview_equals_the_quote_then_propose_download_and_withdraw(
    page: Page, staff: Api, db: asyncpg.Pool, tmp_path: Path
) -> None:
    w = await make_world(staff)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.goto(f"/admin/leases/new?site_id={w.site['id']}&shift=DAY&start_date=2031-04-12")
    await page.select_option("#team_id", w.team["id"])
    await page.locator('.picker g.seat[data-label="1F-A-003"]').click()
    await page.locator('.picker g.seat[data-label="1F-A-004"]').click()
    await page.fill('input[name$=".extra_monitor"]', "1")
    await page.fill("#discount_pct", "5")
    await page.click("#preview-btn")
    await page.locator("#preview").wait_for()

    # the API's quote of the same booking gives the numbers the preview shows
    seats = [_seat(w, "1F-A-003"), _seat(w, "1F-A-004")]
    body = lease_body(w, start_date="2031-04-12", seat_ids=seats, add_ons=[{"code": "extra_monitor", "quantity": 1}])
    body.pop("seat_count")
    body["discount_pct"] = "5"
    quote = await staff.post("/v1/quotes", body, expect=200)
    assert await page.locator("#preview-total").inner_text() == _money(quote["first_invoice"]["total_minor"])
    assert await page.locator("#preview-monthly").inner_text() == _money(quote["full_month"]["subtotal_minor"])
    text = await page.locator("#preview").inner_text()
    for line in quote["first_invoice"]["lines"]:
        assert _money(line["amount_minor"]) in text, (line, text)

    # sent as a proposal, held to the day chosen, with its notice
    hold_to = date.today() + timedelta(days=30)
    await page.fill("#proposal_expires_on", hold_to.isoformat())
    await page.fill("#notice_days", "45")
    await page.click("#propose-btn")
    await page.wait_for_url(re.compile(r".*/admin/leases/[0-9a-f-]{36}.*"))
    assert "Proposal created" in await page.locator("#flash").inner_text()
    assert await page.locator("#proposal-state").inner_text() == "open"
    assert f"{hold_to + timedelta(days=1)} 00:00" in await page.locator("#held-until").inner_text()
    await shot(page, "proposal-detail")
    lease_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    prop = await staff.get(f"/v1/proposals/{lease_id}")
    assert prop["state"] == "open"
    assert prop["notice_days"] == 45
    assert sorted(s["label"] for s in prop["lease"]["seats"]) == ["1F-A-003", "1F-A-004"]
    assert prop["price"]["first_invoice"] == quote["first_invoice"]
    # the dashboard counts it among the open proposals, and the lease list shows it when asked for
    # proposals, not among the leases
    await page.goto("/admin/")
    assert int(await page.locator("#open-proposals").inner_text()) >= 1
    await page.goto(f"/admin/leases?status=proposed&client_id={w.client['id']}")
    assert await page.locator(f'a[href^="/admin/leases/{lease_id}"]').count() >= 1
    await page.goto(f"/admin/leases?client_id={w.client['id']}")
    assert await page.locator(f'a[href^="/admin/leases/{lease_id}"]').count() == 0
    # held: the map shows the seats taken
    await page.goto(f"/admin/sites/{w.site['id']}/map?shift=DAY&day=2031-04-20")
    assert await page.locator('g.seat[data-label="1F-A-003"]').get_attribute("data-state") != "free"

    # the PDF, opened and read
    await page.goto(f"/admin/leases/{lease_id}")
    pdf = await page.request.get(await attr(page.locator("#proposal-pdf"), "href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    path = tmp_path / "proposal.pdf"
    path.write_bytes(await pdf.body())
    done = await asyncio.to_thread(subprocess.run, ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    assert w.client["legal_name"] in done.stdout
    assert "1F-A-003, 1F-A-004" in done.stdout
    assert "Notice period: 45 days" in done.stdout
    assert f"{quote['first_invoice']['total_minor'] / 100:,.2f}" in done.stdout

    # withdrawn: the seats are free again
    await page.click("#withdraw-btn")
    assert "Withdraw the proposal to" in await page.locator("#confirm-question").inner_text()  # issue 13
    await page.click("#confirm-btn")
    await page.locator("#flash", has_text="Proposal withdrawn").wait_for()
    assert await page.locator("#proposal-state").inner_text() == "withdrawn"
    assert (await staff.get(f"/v1/proposals/{lease_id}"))["state"] == "withdrawn"
    await page.goto(f"/admin/sites/{w.site['id']}/map?shift=DAY&day=2031-04-20")
    assert await page.locator('g.seat[data-label="1F-A-003"]').get_attribute("data-state") == "free"


async def test_a_proposal_that_would_take_a_held_seat_is_refused_next_to_the_field(
    page: Page, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_ids=[_seat(w, "1F-B-001")], start_date="2031-04-01") | {"seat_count": None})
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.goto(f"/admin/leases/new?site_id={w.site['id']}&shift=DAY&start_date=2031-04-12&seat_mode=count")
    await page.select_option("#team_id", w.team["id"])
    await page.fill("#seat_count", "1")
    await page.click("#preview-btn")
    await page.locator("#preview").wait_for()
    await page.fill("#proposal_expires_on", "2020-01-01")
    await page.click("#propose-btn")
    await page.locator("#proposal_expires_on[aria-invalid=true]").wait_for()
    assert "future" in await page.locator("#proposal-fields").inner_text()
