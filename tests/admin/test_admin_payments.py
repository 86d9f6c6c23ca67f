"""Finance records payments in headless Chromium (issue 12): on the client's page (oldest due first,
with the client's withholding), on an invoice's page (in part), with bad amounts named next to their
field; the withholding rate, a certificate and the report of missing ones; facility staff cannot."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from playwright.async_api import Page

from domain.rules.money import format_money
from tests.admin.conftest import attr, login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_invoices import bill, invoice_of
from tests.billing import oracle
from tests.factories import Api, lease_body, make_world

# a billing run bills every client with a lease in its month: these years are billed by no other test
_years = itertools.count(2111)


def major(minor: int) -> str:
    return f"{minor / 100:,.2f}"


async def test_finance_records_payments_withholding_and_certificates(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    y = next(_years)
    await make_world(staff, currency="AUD", timezone="Australia/Sydney", tax_rate="0.1")  # another currency, first by name
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date=f"{y}-01-01"))
    await bill(finance, f"{y}-01")
    await bill(finance, f"{y}-02")
    jan, feb = await invoice_of(finance, w, f"{y}-01"), await invoice_of(finance, w, f"{y}-02")
    cid = w.client["id"]

    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/clients/{cid}")
    outstanding = page.locator("#balance-PHP .outstanding")
    assert await outstanding.inner_text() == format_money(jan["total_minor"] + feb["total_minor"], "PHP")

    # the client withholds 5%: set on its page
    await page.fill("#withholding_pct", "5")
    await page.click("#withholding-btn")
    await page.get_by_text("Withholding rate set to 5%").wait_for()
    assert "5% of the amount before VAT" in await page.locator("#withholding-rate").inner_text()
    assert (await finance.get(f"/v1/clients/{cid}"))["withholding_rate"] == "0.05"

    # bad amounts are named next to their field and nothing is recorded
    await page.fill("#pay-amount", "lots")
    await page.fill("#pay-reference", "BDO 778812")
    await page.click("#pay-btn")
    assert "not an amount" in await page.locator("#pay-amount-error").inner_text()
    assert await page.input_value("#pay-reference") == "BDO 778812"
    await page.fill("#pay-amount", major(jan["total_minor"] + 100))
    await page.check("#alloc-chosen")
    await page.fill(f"#alloc-{jan['id']}", major(jan["total_minor"] + 100))
    await page.click("#pay-btn")
    error = await page.locator(f"#pay-alloc-{jan['id']}-error").inner_text()
    assert "still owes" in error, error
    await shot(page, "client-payment-errors")
    assert (await finance.get("/v1/payments", params={"client_id": cid}))["items"] == []

    # January paid less 5% of its rent before VAT, oldest due first: paid, the withholding recorded
    wht = oracle.tax(sum(x["amount_minor"] for x in jan["lines"] if x["kind"] != "deposit"), "0.05")
    await page.fill(f"#alloc-{jan['id']}", "")
    await page.check("#alloc-oldest")
    await page.fill("#pay-amount", major(jan["total_minor"] - wht))
    today = datetime.now(ZoneInfo("Asia/Manila")).date().isoformat()
    await page.fill("#pay-paid-on", today)
    await page.click("#pay-btn")
    await page.get_by_text(f"Payment of {format_money(jan['total_minor'] - wht, 'PHP')} recorded").wait_for()
    row = page.locator("#client-payments tbody tr").first
    text = await row.inner_text()
    assert jan["number"] in text
    assert f"{format_money(wht, 'PHP')} withheld" in text
    assert await outstanding.inner_text() == format_money(feb["total_minor"], "PHP")
    assert (await finance.get(f"/v1/invoices/{jan['id']}"))["status"] == "paid"
    quarter = (int(today[5:7]) - 1) // 3 + 1
    assert f"{today[:4]} Q{quarter}" in await page.locator("#missing-certificates").inner_text()
    await shot(page, "client-payments")

    # February, from its own page, in part by cheque
    await page.goto(f"/admin/invoices/{feb['id']}")
    assert "withholds" in await page.locator("#payments").inner_text()
    await page.select_option("#pay-method", "cheque")
    await page.fill("#pay-amount", "10,000.00")
    await page.fill("#pay-reference", "CHQ 0042")
    await page.click("#pay-btn")
    await page.get_by_text("Payment of PHP 10,000.00 recorded").wait_for()
    assert await page.locator("#invoice-status").inner_text() == "partially paid"
    assert "CHQ 0042" in await page.locator("#payments").inner_text()
    await shot(page, "invoice-partially-paid")

    # the certificate: the report lists the client until it is marked received
    await page.goto("/admin/billing/withholding")
    assert w.client["legal_name"] in await page.locator("#withholding-report").inner_text()
    csv_link = await attr(page.locator("#withholding-csv"), "href")
    assert csv_link.endswith(".csv")
    await shot(page, "withholding-report")
    await page.goto(f"/admin/clients/{cid}")
    form = page.locator("#certificate-form")
    await form.locator("input[name=year]").fill(today[:4])
    await form.locator("select[name=quarter]").select_option(str(quarter))
    await form.locator("input[name=received_on]").fill(today)
    await form.locator("input[name=reference]").fill("2307-2031-Q1")
    await page.click("#certificate-btn")
    await page.get_by_text(f"Certificate for {today[:4]} Q{quarter} recorded").wait_for()
    assert await page.locator("#missing-certificates").count() == 0
    await page.goto("/admin/billing/withholding")
    assert w.client["legal_name"] not in await page.locator("#withholding-report").inner_text()
    await page.context.clear_cookies()

    # facility staff see no money forms and cannot post them
    await login(page, await staff_login(db, "facility_staff"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/clients/{cid}")
    assert await page.locator("#record-payment").count() == 0
    csrf = await attr(page.locator('meta[name="csrf-token"]'), "content")
    r = await page.request.post(f"/admin/clients/{cid}/payments", form={"csrf_token": csrf, "amount": "1.00", "method": "cash"})
    assert r.status == 403
    assert len((await finance.get("/v1/payments", params={"client_id": cid}))["items"]) == 2
