"""The admin's Reports page in Chromium: the range picker, inline SVG charts per currency, tables that
say what the API says, CSV downloads, a bad range named at its field, and the page only for finance."""

from __future__ import annotations

import csv
import io
import re
import secrets

import asyncpg
from playwright.async_api import Page

from domain.rules.money import format_money
from tests.admin.conftest import PASSWORD, login, shot, text_of
from tests.billing.conftest import run_month
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


async def test_reports_page_draws_the_api_figures(page: Page, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    y = 2100 + secrets.randbelow(20)  # a year of its own: billing runs bill every client of a month
    php = await make_world(staff, floors=2, zones=1, seats_per_zone=6)
    usd = await make_world(staff, currency="USD", timezone="America/New_York", tax_rate="0.08", seats_per_zone=4)
    await staff.post("/v1/leases", lease_body(php, shift="DAY", start_date=f"{y}-01-01", seat_count=3))
    night = await staff.post("/v1/leases", lease_body(php, shift="NIGHT", start_date=f"{y}-01-10", seat_count=2))
    await staff.post(f"/v1/leases/{night['id']}/seats", {"seat_count": 2, "effective": f"{y}-02-01"})
    await staff.post("/v1/leases", lease_body(usd, shift="FULL", start_date=f"{y}-02-01", seat_count=2))
    for m in ("01", "02"):
        await run_month(finance, f"{y}-{m}")
    api_mrr = await finance.get("/v1/reports/mrr", params={"from": f"{y}-01", "to": f"{y}-03", "site_id": php.site["id"]})

    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    email, _ = await make_user(db, "finance", password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.click("nav >> text=Reports")
    await page.wait_for_url(re.compile(r".*/admin/reports$"))
    # pick the range and the PHP site in the form, as a person would
    await page.fill("#range-from", f"{y}-01")
    await page.fill("#range-to", f"{y}-03")
    await page.select_option("#range-site", php.site["id"])
    await page.click("#range-show")
    await page.wait_for_url(re.compile(rf".*/admin/reports\?from={y}-01&to={y}-03&site_id=.*"))
    # charts: MRR and its movement, revenue, occupancy, RevPASS; all inline SVG
    assert await page.locator("#mrr svg.chart").count() == 2
    assert await page.locator("#revenue svg.chart").count() == 1
    assert await page.locator("#occupancy svg.chart").count() == 1
    assert await page.locator("#revpass svg.chart").count() == 1
    assert await page.locator("#mrr svg.chart rect").count() > 3
    # the MRR table says what the API says
    for item in api_mrr["items"]:
        cell = page.locator(f'table.mrr-table[data-currency="PHP"] tr[data-month="{item["month"]}"] td.mrr-end')
        assert await text_of(cell) == format_money(item["mrr_end_minor"], "PHP")
    feb = next(i for i in api_mrr["items"] if i["month"] == f"{y}-02")
    assert feb["expansion_minor"] == 2 * php.plan["monthly_price_minor"]
    await shot(page, "admin-reports")
    assert violations == []  # the charts are inline SVG under the admin's strict policy

    # the CSV download is the API's CSV
    async with page.expect_download() as dl:
        await page.click("#csv-mrr")
    download = await dl.value
    assert download.suggested_filename == f"mrr-{y}-01-{y}-03.csv"
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["mrr_end"] for r in rows] == [f"{i['mrr_end_minor'] / 100:.2f}" for i in api_mrr["items"]]

    # all sites: one chart per currency, never one sum
    await page.goto(f"/admin/reports?from={y}-01&to={y}-03")
    assert await page.locator("table.mrr-table").count() >= 2
    assert await page.locator('table.revenue-table[data-currency="USD"]').count() == 1

    # a range the other way round: the field is named, nothing is drawn
    response = await page.goto(f"/admin/reports?from={y}-03&to={y}-01")
    assert response is not None
    assert response.status == 422
    assert "to is before from" in await text_of(page.locator("#range"))
    assert await page.locator("svg.chart").count() == 0
    await shot(page, "admin-reports-bad-range")


async def test_reports_are_for_finance_only(page: Page, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    assert await page.locator("nav >> text=Reports").count() == 0
    response = await page.goto("/admin/reports")
    assert response is not None
    assert response.status == 403
    response = await page.goto("/admin/reports/mrr.csv?from=2031-01&to=2031-02")
    assert response is not None
    assert response.status == 403
