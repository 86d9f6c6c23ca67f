"""Finance reviews a run's drafts in headless Chromium (issue 12): the drafts list with its totals, a
one-off line added (and a bad one refused) on a draft, bulk issue; a one-off invoice raised from its
form; a client's tax treatment set on the client page."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page

from domain.rules.money import format_money
from tests.admin.conftest import PASSWORD, login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.admin.test_admin_invoices import bill, invoice_of
from tests.billing import oracle
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world

# a billing run bills every client with a lease in its month: years no other test bills
_years = itertools.count(2115)


@pytest.fixture
def draft_review(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process worker bills under draft review (the live server only shows the rows)."""
    monkeypatch.setattr(app.state.settings, "billing_draft_review", True)


def _today(site: dict[str, Any]) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(site["timezone"])).date().isoformat()


async def test_review_drafts_add_a_one_off_line_and_issue_in_bulk(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool, draft_review: None
) -> None:
    y = next(_years)
    wa, wb = await make_world(staff), await make_world(staff)
    await staff.post("/v1/leases", lease_body(wa, seat_count=2, start_date=f"{y}-01-01"))
    await staff.post("/v1/leases", lease_body(wb, seat_count=1, start_date=f"{y}-01-01"))
    await bill(finance, f"{y}-01")
    da, db_ = await invoice_of(finance, wa, f"{y}-01"), await invoice_of(finance, wb, f"{y}-01")
    assert (da["status"], db_["status"]) == ("draft", "draft")

    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/billing")
    await page.click("#drafts-link")
    await page.wait_for_url(re.compile(r".*/admin/billing/drafts$"))
    await page.goto(f"/admin/billing/drafts?period={y}-01")
    # the run drafts every client with a lease in the month (other tests' rolling leases too)
    listed = await finance.get("/v1/billing/drafts", params={"period": f"{y}-01"})
    assert await page.locator("#drafts tbody tr").count() == len(listed["items"])
    assert await page.locator(f"#draft-{da['id']}").count() == await page.locator(f"#draft-{db_['id']}").count() == 1
    (php,) = [t for t in listed["totals"] if t["currency"] == "PHP"]
    assert format_money(php["total_minor"], "PHP") in await page.locator("#draft-total-PHP").inner_text()
    await shot(page, "drafts-review")

    # the draft's page: no number, its lines, a one-off line added with its reason
    await page.locator(f"#draft-{da['id']}").get_by_role("link").click()
    await page.wait_for_url(re.compile(rf".*/admin/invoices/{da['id']}$"))
    assert await page.locator("#invoice-number").inner_text() == "draft"
    await page.fill("#line_description", "Replacement headset (damaged)")
    await page.fill("#line_quantity", "2")
    await page.fill("#line_unit_price", "abc")
    await page.fill("#line_reason", "returned broken")
    await page.click("#add-line-btn")
    assert "not an amount" in await page.locator("#line_unit_price-error").inner_text()
    assert await page.input_value("#line_reason") == "returned broken"
    await page.fill("#line_unit_price", "1,500.00")
    await page.click("#add-line-btn")
    await page.wait_for_url(re.compile(rf".*/admin/invoices/{da['id']}\?flash=.*"))
    one_off = page.locator("#lines tr.line-one_off")
    assert await one_off.count() == 1
    assert "returned broken" in await one_off.inner_text()
    assert "standard 12%" in await one_off.inner_text()
    with_line = da["total_minor"] + 300_000 + oracle.tax(300_000, "0.12")
    assert await page.locator("#total-total").inner_text() == format_money(with_line, "PHP")
    await shot(page, "draft-with-one-off-line")

    # back to the list: select all, issue; the question is asked first
    await page.goto(f"/admin/billing/drafts?period={y}-01")
    assert "1 one-off" in await page.locator(f"#draft-{da['id']}").inner_text()
    await page.check("#select-all")
    assert await page.is_checked(f"#draft-{db_['id']} input[name=invoice_id]")
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("#issue-selected")
    await page.wait_for_url(re.compile(r".*flash=.*"))
    assert f"{len(listed['items'])} invoice" in await page.locator("#flash").inner_text()
    a, b = await invoice_of(finance, wa, f"{y}-01"), await invoice_of(finance, wb, f"{y}-01")
    assert (a["status"], b["status"]) == ("issued", "issued")
    assert a["total_minor"] == with_line
    assert a["issue_date"] == _today(wa.site)
    assert a["number"] == f"{wa.site['code']}-000001"
    assert await page.locator("#drafts tbody tr").count() == 0  # the period has no draft left


async def test_raise_a_one_off_invoice_and_set_a_clients_tax_treatment(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))

    # the client page: exempt needs its reason and certificate
    await page.goto(f"/admin/clients/{w.client['id']}")
    await page.select_option("#tax_treatment", "exempt")
    await page.click("#tax-save")
    assert "needs the reason" in await page.locator("#flash").inner_text()
    await page.select_option("#tax_treatment", "exempt")
    await page.fill("#tax_exemption_reason", "PEZA-registered")
    await page.fill("#tax_certificate_ref", "PEZA-2026-0042")
    await page.click("#tax-save")
    await page.wait_for_url(re.compile(r".*flash=.*"))
    assert "PEZA-2026-0042" in await page.locator("#tax-current").inner_text()
    client = await finance.get(f"/v1/clients/{w.client['id']}")
    assert (client["tax_treatment"], client["tax_certificate_ref"]) == ("exempt", "PEZA-2026-0042")
    await shot(page, "client-tax-treatment")

    # a one-off invoice from the client page: exempt by the client's treatment, issued at once
    await page.click("#client-one-off")
    await page.wait_for_url(re.compile(r".*/admin/invoices/new\?client_id=.*"))
    await page.select_option("#site_id", w.site["id"])
    await page.fill("#l0_description", "Replacement headset (damaged)")
    await page.fill("#l0_unit_price", "1,500.00")
    await page.click("#issue-now")
    assert "at least 1 character" in await page.locator("#l0_reason-error").inner_text()
    await page.fill("#l0_reason", "returned broken")
    await page.click("#issue-now")
    await page.wait_for_url(re.compile(r".*/admin/invoices/[0-9a-f-]{36}\?flash=.*"))
    number = await page.locator("#invoice-number").inner_text()
    assert number == f"{w.site['code']}-000001"
    assert "exempt" in await page.locator("#tax-treatment").inner_text()
    assert "PEZA-2026-0042" in await page.locator("#tax-treatment").inner_text()
    assert await page.locator("#total-tax").inner_text() == format_money(0, "PHP")
    await shot(page, "one-off-invoice")
    page_items = (await finance.get("/v1/invoices", params={"client_id": w.client["id"]}))["items"]
    (inv,) = page_items
    assert (inv["kind"], inv["total_minor"], inv["issue_date"]) == ("one_off", 150_000, _today(w.site))

    # another kept as a draft, then discarded (it took no number)
    await page.goto(f"/admin/invoices/new?client_id={w.client['id']}")
    await page.select_option("#site_id", w.site["id"])
    await page.fill("#l0_description", "Spare keyboard")
    await page.fill("#l0_unit_price", "800")
    await page.fill("#l0_reason", "asked for by the team lead")
    await page.click("#keep-draft")
    await page.wait_for_url(re.compile(r".*/admin/invoices/[0-9a-f-]{36}\?flash=.*"))
    assert await page.locator("#invoice-number").inner_text() == "draft"
    draft_id = page.url.split("/admin/invoices/")[1].split("?")[0]
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("#discard-btn")
    await page.wait_for_url(re.compile(r".*/admin/billing/drafts\?flash=.*"))
    await finance.get(f"/v1/invoices/{draft_id}", expect=404)


async def test_drafts_pages_are_finances_and_a_double_submit_issues_once(
    live_http: httpx.Client, live_server: str, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    """Facility staff get a 403 on the drafts and the one-off form, as on the API; two submits of
    the bulk issue at once issue the draft once."""
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    for path in ("/admin/billing/drafts", "/admin/invoices/new"):
        assert (await asyncio.to_thread(live_http.get, path)).status_code == 403

    w = await make_world(staff)
    draft = await finance.post(
        "/v1/invoices",
        {
            "client_id": w.client["id"],
            "site_id": w.site["id"],
            "issue": False,
            "lines": [{"description": "Extra line", "unit_price_minor": 10_000, "reason": "extra service"}],
        },
    )
    email, _ = await make_user(db, "finance", password=PASSWORD)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=20) as one:
        await asyncio.to_thread(admin_login, one, email)
        listing = await asyncio.to_thread(one.get, "/admin/billing/drafts")
        assert draft["id"] in listing.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', listing.text)
        assert token is not None
        with httpx.Client(base_url=live_server, follow_redirects=False, timeout=20, cookies=one.cookies) as two:
            form = {"csrf_token": token.group(1), "invoice_id": draft["id"]}
            answers = await asyncio.gather(
                asyncio.to_thread(one.post, "/admin/billing/drafts/issue", data=form),
                asyncio.to_thread(two.post, "/admin/billing/drafts/issue", data=form),
            )
    assert [r.status_code for r in answers] == [303, 303]
    issued = await finance.get(f"/v1/invoices/{draft['id']}")
    assert (issued["status"], issued["number"]) == ("issued", f"{w.site['code']}-000001")
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'invoice.issue' AND object_id = $1", draft["id"]) == 1
    )
