"""Documents in the admin, in headless Chromium: facility staff set a site's issuing entity (a bad tax id
is named beside its field; the change is audited), finance downloads the invoice's and the credit
note's own PDFs from the invoice page, named by their numbers, printing that issuer."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_invoices import bill, invoice_of
from tests.billing.docs_helpers import pdf_text
from tests.factories import Api, lease_body, make_world

_years = itertools.count(2095)


async def test_set_the_issuer_and_download_the_documents(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool, tmp_path: Path
) -> None:
    y = next(_years)
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date=f"{y}-01-01"))
    await bill(finance, f"{y}-01")
    inv = await invoice_of(finance, w, f"{y}-01")
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})

    # facility staff: from the seat map to the site's issuing entity
    await login(page, await staff_login(db, "facility_staff"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/sites/{w.site['id']}/map")
    await page.locator("#site-issuer-link").click()
    await page.wait_for_url(re.compile(rf".*/admin/sites/{w.site['id']}/issuer$"))
    await page.fill("#legal_name", "Seatlease Makati Holdings, Inc.")
    await page.fill("#address", "12F Tower One, Ayala Avenue\nMakati City 1226")
    await page.fill("#tax_id", "009/876 543!!")
    await page.fill("#invoice_footer", "BIR Permit No. 0420-116-00042")
    await page.click("#save-issuer")
    assert await page.locator("#tax_id-error").is_visible()
    assert await page.locator("#tax_id").input_value() == "009/876 543!!"  # what was typed stays
    site = await staff.get(f"/v1/sites/{w.site['id']}")
    assert site["legal_name"] == ""  # nothing saved
    await page.fill("#tax_id", "009-876-543-000")
    await page.click("#save-issuer")
    await page.wait_for_url(re.compile(r".*/issuer\?flash="))
    assert "saved" in await page.locator("#flash").inner_text()
    await shot(page, "site-issuer")
    site = await staff.get(f"/v1/sites/{w.site['id']}")
    assert (site["legal_name"], site["tax_id"]) == ("Seatlease Makati Holdings, Inc.", "009-876-543-000")
    assert site["address"] == "12F Tower One, Ayala Avenue\nMakati City 1226"
    audited = await db.fetchrow(
        "SELECT before, after FROM audit_events WHERE action = 'site.update' AND object_id = $1 ORDER BY id DESC LIMIT 1",
        w.site["id"],
    )
    assert audited is not None
    assert "Seatlease Makati Holdings" in str(audited["after"])

    # finance: the invoice page's downloads
    await page.context.clear_cookies()
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/invoices/{inv['id']}")
    assert "Seatlease Makati Holdings, Inc." in await page.locator("#invoice-header").inner_text()
    async with page.expect_download() as info:
        await page.locator("#invoice-pdf").click()
    download = await info.value
    assert download.suggested_filename == f"invoice-{inv['number']}.pdf"
    path = await download.path()
    text = await pdf_text(await asyncio.to_thread(path.read_bytes), tmp_path)
    assert "Seatlease Makati Holdings, Inc." in text
    assert "009-876-543-000" in text
    assert "Page 1 of 1" in text
    async with page.expect_download() as info:
        await page.locator(f"#cn-{cn['id']} .cn-pdf").click()
    download = await info.value
    assert download.suggested_filename == f"credit-note-{cn['number']}.pdf"
    await shot(page, "invoice-documents")


async def test_issuer_rules_through_the_api(staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    for body, field in (
        ({"legal_name": ""}, "legal_name"),
        ({"legal_name": " padded "}, "legal_name"),
        ({"tax_id": "x" * 65}, "tax_id"),
        ({"tax_id": "12<script>"}, "tax_id"),
        ({"invoice_footer": "x" * 2001}, "invoice_footer"),
        ({"legal_name": None}, "legal_name"),
    ):
        r = await staff.call("PATCH", f"/v1/sites/{w.site['id']}", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text
    # finance reads, never edits, a site
    r = await finance.call("PATCH", f"/v1/sites/{w.site['id']}", json={"legal_name": "Mine Inc."})
    assert r.status_code == 403
    ok = await staff.call("PATCH", f"/v1/sites/{w.site['id']}", json={"legal_name": "Ok Inc.", "tax_id": ""})
    assert ok.status_code == 200
    assert ok.json()["legal_name"] == "Ok Inc."
    n = await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'site.update' AND object_id = $1", w.site["id"])
    assert n == 1
