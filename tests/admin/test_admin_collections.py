"""Collections in the admin, in headless Chromium: the overdue list (days overdue, outstanding per
currency, last reminder, a link to the invoice) says that without SMTP settings no reminder is sent;
a client's page excludes it from reminders (audited, the API's use-case); the journal downloads as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login, shot, text_of
from tests.billing.ledger_setup import invoice, make_party, payment
from tests.billing.test_dunning import today_at
from tests.conftest import make_user
from tests.factories import Api


async def test_the_overdue_list_says_no_smtp_and_a_client_is_excluded_from_reminders(
    page: Page, staff: Api, db: asyncpg.Pool
) -> None:
    p = await make_party(staff)
    t = today_at(p)
    late = await invoice(db, p, issue=t - timedelta(days=42), due=t - timedelta(days=12), seat_minor=1_000_000)
    await payment(db, p, on=t - timedelta(days=5), amount_minor=120_000, allocations=[(late, 120_000, 0, None)])
    email, _ = await make_user(db, "finance", password=PASSWORD)
    await login(page, email)
    await page.goto(f"/admin/collections?client_id={p.client['id']}")
    banner = page.locator("#no-smtp")
    assert "Payment reminders are not being sent" in await text_of(banner)
    assert "SEATLEASE_SMTP_HOST" in await text_of(banner)
    row = page.locator(f"#overdue tr[data-invoice='{late['id']}']")
    cells = await row.locator("td").all_inner_texts()
    assert cells[0].strip() == late["number"]
    assert cells[4] == "12"
    assert cells[5] == "PHP 10,000.00"  # 11,200.00 less the 1,200.00 paid
    assert cells[6] == "none"
    assert "PHP 10,000.00" in await text_of(page.locator("#overdue-totals"))
    await shot(page, "collections-overdue")
    await row.locator("a", has_text=late["number"]).click()
    await page.wait_for_url(f"**/admin/invoices/{late['id']}")

    # the client's page: reminders on, then excluded (audited)
    await page.goto(f"/admin/clients/{p.client['id']}")
    assert "Overdue invoices are reminded by email" in await text_of(page.locator("#dunning-state"))
    await page.click("#dunning-toggle")
    await page.locator("#flash", has_text="Payment reminders are off for this client").wait_for()
    assert "excluded" in await text_of(page.locator("#dunning-state"))
    await shot(page, "client-dunning-excluded")
    assert await db.fetchval("SELECT dunning_excluded FROM clients WHERE id = $1", p.client_id) is True
    audit = await db.fetchrow(
        "SELECT actor, after->>'dunning_excluded' AS excluded FROM audit_events"
        " WHERE action = 'client.update' AND object_id = $1",
        p.client["id"],
    )
    assert audit is not None
    assert (audit["actor"], audit["excluded"]) == (email, "true")
    await page.goto(f"/admin/collections?client_id={p.client['id']}")
    assert "client excluded" in await text_of(page.locator(f"#overdue tr[data-invoice='{late['id']}']"))

    # the month's journal, as the API gives it
    await page.fill("#journal-period", f"{t - timedelta(days=42):%Y-%m}")
    async with page.expect_download() as download:
        await page.click("#journal-download")
    assert (await download.value).suggested_filename == f"journal-{t - timedelta(days=42):%Y-%m}.csv"
    r = await page.request.get(f"/admin/collections/journal?period={t - timedelta(days=42):%Y-%m}")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    receivable = [
        (x["currency"], x["debit_minor"]) for x in rows if x["reference"] == late["number"] and x["account_code"] == "1200"
    ]
    assert receivable == [("PHP", "1120000")]


async def test_facility_staff_see_the_reminders_state_but_finance_decides(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    p = await make_party(staff)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.goto(f"/admin/clients/{p.client['id']}")
    assert "Overdue invoices are reminded by email" in await text_of(page.locator("#dunning-state"))
    assert await page.locator("#dunning-toggle").count() == 0
    assert "Finance decides" in await text_of(page.locator("#dunning"))
    r = await page.request.get("/admin/collections")
    assert r.status == 403
