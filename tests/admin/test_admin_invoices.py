"""Finance on one invoice, in headless Chromium: read it, credit part of it, credit the rest with an
approval, void another; bad amounts are named next to the field; facility staff cannot credit."""

from __future__ import annotations

import itertools
import re
from typing import Any, cast

import asyncpg
from playwright.async_api import Page

from domain.rules.money import format_money
from tests.admin.conftest import attr, login, shot
from tests.admin.test_admin_browser import staff_login
from tests.billing.conftest import app_of, drive_runs
from tests.factories import Api, World, lease_body, make_world

# a billing run bills every client with a lease in its month: these years are billed by no other test
_years = itertools.count(2061)


async def bill(finance: Api, period: str) -> None:
    run = await finance.post("/v1/billing/runs", {"period": period}, expect=202)
    await drive_runs(app_of(finance))  # the API queues; a worker bills
    done = await finance.get(f"/v1/billing/runs/{run['id']}")
    assert done["status"] == "done", done


async def invoice_of(finance: Api, w: World, period: str) -> dict[str, Any]:
    page = await finance.get("/v1/invoices", params={"client_id": w.client["id"], "period": period})
    (item,) = page["items"]
    return cast(dict[str, Any], await finance.get(f"/v1/invoices/{item['id']}"))


async def credit_notes(finance: Api, invoice_id: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], await finance.get(f"/v1/invoices/{invoice_id}/credit-notes"))


async def test_finance_reads_credits_approves_and_voids(page: Page, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    y = next(_years)
    wa, wb = await make_world(staff), await make_world(staff)
    lease_a = await staff.post("/v1/leases", lease_body(wa, seat_count=2, start_date=f"{y}-01-01"))
    await staff.post("/v1/leases", lease_body(wb, seat_count=1, start_date=f"{y}-01-10"))
    await bill(finance, f"{y}-01")
    inv_a, inv_b = await invoice_of(finance, wa, f"{y}-01"), await invoice_of(finance, wb, f"{y}-01")
    assert inv_a["total_minor"] > 5_000_000  # the whole rest will need an approval

    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    # from the billing list to the invoice
    await page.goto(f"/admin/billing?period={y}-01")
    await page.locator("#invoices").get_by_role("link", name=inv_a["number"], exact=True).click()
    await page.wait_for_url(re.compile(rf".*/admin/invoices/{inv_a['id']}$"))
    assert await page.locator("#invoice-number").inner_text() == inv_a["number"]
    assert await page.locator("#invoice-status").inner_text() == "issued"
    header = await page.locator("#invoice-header").inner_text()
    assert wa.client["legal_name"] in header
    assert wa.site["code"] in header
    assert f"{y}-01" in header
    assert "pending" in await page.locator("#stripe-state").inner_text()
    # every line, with its proration, and the totals in the site's currency
    rows = page.locator("#lines tbody tr")
    assert await rows.count() == len(inv_a["lines"])
    seat = next(x for x in inv_a["lines"] if x["kind"] == "seat")
    seat_row = await rows.nth(inv_a["lines"].index(seat)).inner_text()  # both in line order
    assert format_money(seat["amount_minor"], "PHP") in seat_row
    assert f"{seat['days']}/{seat['period_days']}" in seat_row
    assert await page.locator("#total-total").inner_text() == format_money(inv_a["total_minor"], "PHP")
    assert await page.locator("#total-tax").inner_text() == format_money(inv_a["tax_minor"], "PHP")

    # bad amounts: named next to the field, what was typed stays, nothing is written
    await page.fill("#amount", "0")
    await page.fill("#reason", "aircon outage")
    await page.click("#credit-btn")
    assert "greater than 0" in await page.locator("#amount-error").inner_text()
    assert await page.get_attribute("#amount", "aria-invalid") == "true"
    assert await page.input_value("#reason") == "aircon outage"
    too_much = f"{(inv_a['subtotal_minor'] + 100) / 100:,.2f}"
    await page.fill("#amount", too_much)
    await page.click("#credit-btn")
    error = await page.locator("#amount-error").inner_text()
    assert f"at most {format_money(inv_a['subtotal_minor'], 'PHP')}" in error, error
    assert await page.input_value("#amount") == too_much
    await page.fill("#amount", "12.345")
    await page.click("#credit-btn")
    assert "2 decimal places" in await page.locator("#amount-error").inner_text()
    await page.fill("#amount", "1,000.00")
    await page.fill("#reason", "  ")
    await page.click("#credit-btn")
    assert await page.locator("#reason-error").is_visible()
    assert await page.input_value("#amount") == "1,000.00"
    assert "Traceback" not in await page.content()
    await shot(page, "invoice-credit-errors")
    assert await credit_notes(finance, inv_a["id"]) == []

    # a partial credit within the threshold is issued at once, with its tax
    await page.fill("#reason", "aircon outage")
    await page.click("#credit-btn")
    cn_number = f"{wa.site['code']}-CN-000001"
    await page.get_by_text(f"Credit note {cn_number} issued: PHP 1,120.00").wait_for()
    row = page.locator("#credit-notes tbody tr", has_text=cn_number)
    assert "aircon outage" in await row.inner_text()
    assert "issued" in await row.inner_text()
    assert await page.locator("#total-credited").inner_text() == "− PHP 1,120.00"
    (part,) = await credit_notes(finance, inv_a["id"])
    assert (part["amount_minor"], part["tax_minor"], part["status"]) == (100_000, 12_000, "issued")

    # the whole rest is above the threshold: it waits for an approval, then takes the next number
    await page.check("#credit-whole")
    await page.fill("#reason", "wrong client")
    await page.click("#credit-btn")
    await page.get_by_text("is waiting for approval").wait_for()
    pending = page.locator("#credit-notes tbody tr", has_text="wrong client")
    assert "pending approval" in await pending.inner_text()
    assert await page.locator("#total-pending").inner_text() == format_money(inv_a["total_minor"] - 112_000, "PHP")
    await shot(page, "invoice-detail")
    await pending.get_by_role("button", name="Approve").click()
    await page.get_by_text(f"Credit note {wa.site['code']}-CN-000002 approved and issued").wait_for()
    assert "issued" in await page.locator("#credit-notes tbody tr", has_text="wrong client").inner_text()
    assert await page.locator("#total-balance").inner_text() == format_money(0, "PHP")
    notes = await credit_notes(finance, inv_a["id"])
    assert [n["status"] for n in notes] == ["issued", "issued"]
    assert sum(n["total_minor"] for n in notes) == inv_a["total_minor"]
    # fully credited: nothing remains creditable, and an invoice with credit notes is not voided
    assert await page.locator("#credit-form").count() == 0
    assert "nothing is left to credit" in await page.locator("#nothing-left").inner_text()
    assert await page.locator("#creditable").inner_text() == format_money(0, "PHP")
    assert await page.locator("#void-btn").count() == 0

    # the lease's invoices link here too
    await page.goto(f"/admin/leases/{lease_a['id']}")
    await page.locator("#invoices").get_by_role("link", name=inv_a["number"]).click()
    await page.wait_for_url(re.compile(rf".*/admin/invoices/{inv_a['id']}$"))

    # void the other invoice: a confirm step first, which changes nothing
    await page.goto(f"/admin/invoices/{inv_b['id']}")
    await page.click("#void-btn")
    await page.locator("#void-confirm-btn").wait_for()
    assert f"Void invoice {inv_b['number']}?" in await page.locator("#void").inner_text()
    assert (await finance.get(f"/v1/invoices/{inv_b['id']}"))["status"] == "issued"
    await shot(page, "invoice-void-confirm")
    await page.fill("#void_reason", "issued by mistake")
    await page.click("#void-confirm-btn")
    await page.get_by_text(f"Invoice {inv_b['number']} voided").wait_for()
    assert await page.locator("#invoice-status").inner_text() == "void"
    assert await page.locator("#credit-form").count() == 0
    assert await page.locator("#void-btn").count() == 0
    voided = await finance.get(f"/v1/invoices/{inv_b['id']}")
    assert (voided["status"], voided["number"]) == ("void", inv_b["number"])


async def test_facility_staff_cannot_credit_and_a_double_submit_credits_once(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    y = next(_years)
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=f"{y}-03-01"))
    await bill(finance, f"{y}-03")
    inv = await invoice_of(finance, w, f"{y}-03")

    # facility staff: like the API, invoices are not theirs to read, and a forged credit note is refused
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/leases/{lease['id']}")
    assert inv["number"] in await page.locator("#invoices").inner_text()
    assert await page.locator("#invoices a").count() == 0
    r = await page.request.get(f"/admin/invoices/{inv['id']}")
    assert r.status == 403
    csrf = await attr(page.locator('meta[name="csrf-token"]'), "content")
    for path, fields in (
        (f"/admin/invoices/{inv['id']}/credit-notes", {"amount": "10.00", "reason": "x"}),
        (f"/admin/invoices/{inv['id']}/void", {"confirm": "yes", "void_reason": "x"}),
    ):
        r = await page.request.post(path, form={"csrf_token": csrf, **fields})
        assert r.status == 403
        assert "Traceback" not in await r.text()
    assert await credit_notes(finance, inv["id"]) == []
    assert (await finance.get(f"/v1/invoices/{inv['id']}"))["status"] == "issued"
    await page.context.clear_cookies()

    # finance: the same form sent twice (a double click) makes one credit note
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/invoices/{inv['id']}")
    csrf = await attr(page.locator('meta[name="csrf-token"]'), "content")
    key = await attr(page.locator("#credit-form input[name=form_key]"), "value")
    form: dict[str, str | float | bool] = {
        "csrf_token": csrf,
        "form_key": key,
        "credit_kind": "partial",
        "amount": "50",
        "reason": "late keys",
    }
    for _ in range(2):
        r = await page.request.post(f"/admin/invoices/{inv['id']}/credit-notes", form=form, max_redirects=0)
        assert r.status == 303
    notes = await credit_notes(finance, inv["id"])
    assert [(n["amount_minor"], n["reason"]) for n in notes] == [(5_000, "late keys")]
    # a credit note of another invoice is not approved through this one
    await page.goto(f"/admin/invoices/{inv['id']}")
    r = await page.request.post(f"/admin/invoices/{inv['id']}/credit-notes/{inv['id']}/approve", form={"csrf_token": csrf})
    assert r.status == 404
