"""Multi-row forms (issue 13): the lease's assignment form keeps every choice made on a refused save
and marks the rows at fault with the reason; the member picker names team and employee id; the
booking form names the add-on row that failed and keeps what was typed."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
from playwright.async_api import Page

from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.factories import Api, lease_body, make_world


async def test_assignment_form_keeps_choices_and_names_the_failing_row(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=3, start_date="2034-02-01"))
    seats = sorted(lease["seats"], key=lambda s: s["label"])
    a0, a1, a2 = w.members
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/leases/{lease['id']}")

    # the picker says who is who: name, team, employee id
    picker = page.locator(f"#seat_{seats[0]['id']}")
    labels = await picker.locator("option").all_inner_texts()
    assert "Agent 1 — Voice support - nights · E0001" in labels, labels

    # Agent 1 on two seats, Agent 2 on the third: refused, the two rows marked, all three choices kept
    await picker.select_option(a1["id"])
    await page.select_option(f"#seat_{seats[1]['id']}", a1["id"])
    await page.select_option(f"#seat_{seats[2]['id']}", a2["id"])
    await page.click("#assignments-form button[type=submit]:has-text('Save assignments')")
    await page.locator("#assignments-error").wait_for()
    assert "Agent 1 is chosen for more than one seat" in await page.locator("#assignments-error").inner_text()
    marked = await page.locator("#assignments tr.row-error").evaluate_all("rs => rs.map(r => r.dataset.seatLabel)")
    assert marked == [seats[0]["label"], seats[1]["label"]]
    assert await page.locator(f"#seat_{seats[0]['id']}-error").is_visible()
    assert await page.locator(f"#seat_{seats[2]['id']}-error").count() == 0
    for seat, member in zip(seats, (a1, a1, a2), strict=True):
        assert await page.input_value(f"#seat_{seat['id']}") == member["id"]
    await shot(page, "assignments-error")
    assert await db.fetchval("SELECT count(*) FROM seat_assignments WHERE lease_id = $1::uuid", lease["id"]) == 0

    # a member removed while the form was open: that row is named, the others kept
    await page.select_option(f"#seat_{seats[1]['id']}", a0["id"])
    await staff.call("DELETE", f"/v1/members/{a2['id']}", 200)
    await page.click("#assignments-form button[type=submit]:has-text('Save assignments')")
    await page.locator("#assignments-error").wait_for()
    assert "Agent 2" in await page.locator("#assignments-error").inner_text()
    assert await page.locator("#assignments tr.row-error").evaluate_all("rs => rs.map(r => r.dataset.seatLabel)") == [
        seats[2]["label"]
    ]
    assert await page.input_value(f"#seat_{seats[0]['id']}") == a1["id"]
    assert await page.input_value(f"#seat_{seats[1]['id']}") == a0["id"]
    assert await page.input_value(f"#seat_{seats[2]['id']}") == a2["id"]  # shown as no longer an active member

    # fixed: saved
    await page.select_option(f"#seat_{seats[2]['id']}", "")
    await page.click("#assignments-form button[type=submit]:has-text('Save assignments')")
    await page.get_by_text("Assignments saved").wait_for()
    assert await page.input_value(f"#seat_{seats[0]['id']}") == a1["id"]
    assert await page.locator("#assignments tr.row-error").count() == 0


async def test_booking_form_names_the_add_on_row_that_failed(live_http: httpx.Client, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    assert (await asyncio.to_thread(admin_login, live_http, await staff_login(db))).status_code == 303
    page = await asyncio.to_thread(live_http.get, "/admin/leases/new", params={"site_id": w.site["id"]})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    plan = w.plan["id"]
    form = {
        "csrf_token": token.group(1),
        "site_id": w.site["id"],
        "team_id": w.team["id"],
        "plan_id": plan,
        "shift": "DAY",
        "start_date": "2036-02-01",
        "seat_mode": "count",
        "seat_count": "2",
        f"addon.{plan}.extra_monitor": "2.5",
        "action": "preview",
    }
    r = await asyncio.to_thread(live_http.post, "/admin/leases/new", data=form)
    assert r.status_code == 422
    assert f'id="addon-{plan}-extra_monitor-error"' in r.text
    assert "a whole number of units" in r.text
    assert 'value="2036-02-01"' in r.text  # the rest of the form kept
    assert f'name="addon.{plan}.extra_monitor" id="addon.{plan}.extra_monitor" value="2.5"' in r.text
    live_http.cookies.clear()
