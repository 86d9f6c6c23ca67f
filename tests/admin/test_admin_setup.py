"""Issue 13, set-up pages in headless Chromium against the real app: a site created (a bad time zone
refused next to its field, every value kept, nothing saved), a floor with named zones, its seats drawn
in the floor-plan editor, a DAY and a NIGHT shift, a plan with an inclusion and add-ons and a price from
a later date; then a lease booked on that site through the admin's booking page, whose price does not
move when the plan's does."""

from __future__ import annotations

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, uniq


async def _error(page: Page, field: str) -> str:
    await page.locator(f"#{field}-error").wait_for()
    assert await page.get_attribute(f"[name='{field}']", "aria-invalid") == "true"
    return await text_of(page.locator(f"#{field}-error"))


async def test_set_up_a_site_and_book_on_it(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    code = uniq("C")
    await login(page, await staff_login(db))
    await page.get_by_role("link", name="Sites", exact=True).click()
    await page.wait_for_url("**/admin/sites")
    # --- a site with a time zone that is not one: refused inline, everything kept, nothing saved
    await page.fill("#code", code)
    await page.fill("#name", "Cebu IT Park tower 2")
    await page.fill("#timezone", "Asia/Cebu")
    await page.fill("#currency", "php")
    await page.fill("#tax_rate", "12")
    await page.fill("#legal_name", "Cebu Seats Inc.")
    await page.fill("#tax_id", "123-456-789-000")
    await page.fill("#address", "Tower 2, IT Park\nCebu City")
    await page.click("#create-site")
    assert "time zone" in await _error(page, "timezone")
    assert (await page.input_value("#code"), await page.input_value("#legal_name")) == (code, "Cebu Seats Inc.")
    assert await page.input_value("#address") == "Tower 2, IT Park\nCebu City"
    assert await page.input_value("#tax_rate") == "12"
    assert await db.fetchval("SELECT count(*) FROM sites WHERE code = $1", code) == 0
    await shot(page, "setup-site-bad-timezone")
    await page.fill("#timezone", "Asia/Manila")
    await page.click("#create-site")
    await page.get_by_text(f"Site {code} created").wait_for()
    site = await db.fetchrow("SELECT id, currency, tax_rate, legal_name, tax_id FROM sites WHERE code = $1", code)
    assert (site["currency"], str(site["tax_rate"]), site["legal_name"], site["tax_id"]) == (
        "PHP",
        "0.1200",
        "Cebu Seats Inc.",
        "123-456-789-000",
    )
    sid = str(site["id"])
    # the issuing entity is edited on its own page (issue 12), linked from the site's
    assert await page.get_attribute("#edit-issuer", "href") == f"/admin/sites/{sid}/issuer"
    # --- a floor, then its zones named before any seat is drawn
    await page.fill("#floor_name", "3F")
    await page.fill("#floor_level", "three")
    await page.click("#add-floor")
    await _error(page, "floor_level")
    assert await page.input_value("#floor_name") == "3F"
    await page.fill("#floor_level", "3")
    await page.click("#add-floor")
    await page.get_by_text("Floor 3F added").wait_for()
    fid = page.url.split("/floors/")[1].split("?")[0]
    assert await page.get_attribute("#open-editor", "href") == f"/admin/sites/{sid}/floors/{fid}/editor"
    for zcode, zname in (("A", "A — Inbound voice"), ("B", "B — Chat")):
        await page.fill("#zone_code", zcode)
        await page.fill("#zone_name", zname)
        await page.click("#add-zone")
        await page.get_by_text(f"Zone {zcode} named").wait_for()
    await page.fill("#zone_code", "A")
    await page.fill("#zone_name", "again")
    await page.click("#add-zone")
    assert "exists" in await _error(page, "zone_code")
    assert await page.input_value("#zone_name") == "again"
    await page.fill("input[name='zone.B']", "B — Chat and email")
    await page.locator("input[name='zone.B'] >> xpath=.. >> button").click()
    await page.get_by_text("Zone B renamed").wait_for()
    rows = await page.locator("#zones tbody tr").all_inner_texts()
    assert [r[0] for r in rows] == ["A", "B"], rows
    assert await page.input_value("input[name='zone.B']") == "B — Chat and email"
    await shot(page, "setup-floor-zones")
    # --- the seats are drawn in the floor-plan editor: a block of 2 rows × 3 in zone A, named above
    await page.click("#open-editor")
    await page.wait_for_url(f"**/admin/sites/{sid}/floors/{fid}/editor")
    assert 'label="A — Inbound voice"' in await page.locator("#zone-list").inner_html()  # the named zones are offered
    await page.fill("#prefix", "3F-A-")
    await page.fill("#block-zone", "A")
    await page.fill("#rows", "2")
    await page.fill("#columns", "3")
    await page.click("#add-block-btn")
    await page.get_by_text("Added 6 seats: 3F-A-01 … 3F-A-06").wait_for()
    seats = await db.fetch("SELECT label, zone FROM seats WHERE floor_id = $1 ORDER BY label", fid)
    assert [(r["label"], r["zone"]) for r in seats] == [(f"3F-A-{i:02d}", "A") for i in range(1, 7)]
    await shot(page, "setup-floor-drawn")
    # --- shifts: DAY and a NIGHT that crosses midnight; equal times refused inline
    await page.goto(f"/admin/sites/{sid}")
    for scode, start, end in (("DAY", "06:00", "15:00"), ("NIGHT", "22:00", "07:00")):
        await page.fill("#shift_code", scode)
        await page.fill("#shift_name", scode.title())
        await page.fill("#shift_starts_at", start)
        await page.fill("#shift_ends_at", end)
        await page.click("#add-shift")
        await page.get_by_text(f"Shift {scode} added").wait_for()
    await page.fill("#shift_code", "MID")
    await page.fill("#shift_starts_at", "12:00")
    await page.fill("#shift_ends_at", "12:00")
    await page.click("#add-shift")
    assert "window" in await _error(page, "shift_ends_at")
    assert await page.input_value("#shift_code") == "MID"
    shifts = await page.locator("#shifts tbody").inner_text()
    assert "22:00–07:00 crosses midnight" in shifts, shifts
    await shot(page, "setup-site")
    # --- a plan with an inclusion and an add-on; a bad price is refused inline, all kept
    await page.goto("/admin/plans")
    await page.select_option("#plan_site_id", sid)
    await page.fill("#plan_name", "Voice seat")
    await page.fill("#plan_price", "15,000.00")
    await page.fill("#plan_setup_fee", "2,500")
    await page.fill("#plan_deposit", "1")
    await page.fill("#inc0_code", "power")
    await page.fill("#inc0_name", "Power with UPS")
    await page.select_option("#inc0_kind", "power")
    await page.fill("#inc1_code", "extra_monitor")
    await page.fill("#inc1_name", "Extra monitor")
    await page.select_option("#inc1_kind", "device")
    await page.select_option("#inc1_billing", "monthly")
    await page.fill("#inc1_device_kind", "monitor")
    await page.fill("#inc1_unit_price_minor", "five hundred")
    await page.click("#create-plan")
    assert "amount" in await _error(page, "inc1_unit_price_minor")
    assert await page.input_value("#inc0_name") == "Power with UPS"
    assert await page.input_value("#inc1_billing") == "monthly"
    assert await db.fetchval("SELECT count(*) FROM plans WHERE site_id = $1", site["id"]) == 0
    await shot(page, "setup-plan-error")
    await page.fill("#inc1_unit_price_minor", "500")
    await page.click("#create-plan")
    await page.get_by_text("Plan Voice seat created").wait_for()
    pid = page.url.split("/plans/")[1].split("?")[0]
    # another add-on from the plan's page, then an inclusion renamed
    await page.fill("#inc_code", "headset")
    await page.fill("#inc_name", "Headset")
    await page.select_option("#inc_kind", "device")
    await page.select_option("#inc_billing", "one_time")
    await page.fill("#inc_unit_price_minor", "1,200")
    await page.click("#add-inclusion")
    await page.get_by_text("Headset added").wait_for()
    await page.goto(f"/admin/plans/{pid}/inclusions/power")
    await page.fill("#name", "Power with UPS and generator")
    await page.click("#save-inclusion")
    await page.get_by_text("Power with UPS and generator saved").wait_for()
    inc = await page.locator("#inclusions tbody").inner_text()
    for shown in ("Power with UPS and generator", "PHP 500.00", "PHP 1,200.00"):
        assert shown in inc, inc
    # a new price from a later date: leases starting before it keep today's
    await page.fill("#effective_from", "2031-06-01")
    await page.fill("#monthly_price_minor", "16,500.00")
    await page.click("#add-price-btn")
    await page.get_by_text("Price from 2031-06-01 added").wait_for()
    await shot(page, "setup-plan")
    # --- the set-up is usable: book a NIGHT lease on it through the admin's booking page
    client = await staff.post(
        "/v1/clients",
        {"legal_name": f"Client {uniq()} Inc.", "billing_email": f"ap-{uniq().lower()}@example.com", "payment_terms_days": 30},
    )
    team = await staff.post(f"/v1/clients/{client['id']}/teams", {"name": "Nights"})
    await page.goto(f"/admin/leases/new?site_id={sid}&shift=NIGHT&start_date=2031-03-01")
    await page.select_option("#team_id", team["id"])
    await page.select_option("#plan_id", pid)
    await page.check("input[name=seat_mode][value=count]")
    await page.fill("#seat_count", "2")
    await page.click("#preview-btn")
    await page.locator("#preview").wait_for()
    await page.click("#confirm-btn")
    await page.get_by_text("Lease booked").wait_for()
    lease_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "PHP 15,000.00" in await text_of(page.locator("#terms-seat-price"))
    # --- the plan's price moves from before the lease's start: the booked lease keeps its own
    await page.goto(f"/admin/plans/{pid}")
    await page.fill("#effective_from", "2031-01-01")
    await page.fill("#monthly_price_minor", "18,000.00")
    await page.click("#add-price-btn")
    await page.get_by_text("Price from 2031-01-01 added").wait_for()
    terms = await staff.get(f"/v1/leases/{lease_id}/terms")
    assert terms["monthly_price_minor"] == 1_500_000, terms
    await page.goto(f"/admin/leases/{lease_id}")
    assert "PHP 15,000.00" in await text_of(page.locator("#terms-seat-price"))
    # --- the NIGHT shift's hours are booked now: an edit is refused next to the field, nothing moves
    night = await db.fetchval("SELECT id FROM shifts WHERE site_id = $1 AND code = 'NIGHT'", site["id"])
    await page.goto(f"/admin/sites/{sid}/shifts/{night}")
    await page.fill("#ends_at", "08:00")
    await page.click("#save-shift")
    assert "add a new shift" in await _error(page, "ends_at")
    assert await page.input_value("#ends_at") == "08:00"
    assert str(await db.fetchval("SELECT ends_at FROM shifts WHERE id = $1", night)) == "07:00:00"
    await shot(page, "setup-shift-booked")
    await page.fill("#ends_at", "07:00")
    await page.fill("#name", "Night (graveyard)")
    await page.click("#save-shift")
    await page.get_by_text("Shift NIGHT saved").wait_for()
