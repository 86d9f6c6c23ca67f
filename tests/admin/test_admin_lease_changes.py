"""Changes during a term on the admin's lease page (issue 11), in headless Chromium against the real
app: move a seat with its agent, move the lease to another floor, set an add-on from a date; what
the page did is what the API reads, and a refusal shows next to its field with nothing changed."""

from __future__ import annotations

import re

import asyncpg
import httpx
from playwright.async_api import Page

from tests.admin.conftest import PASSWORD, login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.admin.test_admin_lease_parity import _admin_post
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


async def test_move_a_seat_then_the_whole_lease_and_change_an_add_on_from_the_lease_page(
    page: Page, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, floors=2)
    lease = await staff.post(
        "/v1/leases",
        lease_body(
            w, start_date="2031-03-01", end_date="2031-12-31", seat_count=2, add_ons=[{"code": "extra_monitor", "quantity": 2}]
        ),
    )
    label = {s["id"]: s["label"] for s in w.seats}
    held = sorted(label[s["id"]] for s in lease["seats"])
    await staff.call(
        "PUT",
        f"/v1/leases/{lease['id']}/assignments",
        200,
        json=[{"seat_id": s["id"], "member_id": m["id"]} for s, m in zip(lease["seats"], w.members, strict=False)],
    )
    free_same_floor = next(s["label"] for s in w.seats if s["label"] not in held and s["label"].startswith(held[0][:2]))
    await login(page, await staff_login(db))
    await page.goto(f"/admin/leases/{lease['id']}")
    changes = page.locator("#term-changes")

    # a seat onto a seat this lease holds: refused next to the field, nothing moved
    await changes.get_by_text("Move a seat").click()
    await page.fill("#move_from", held[0])
    await page.fill("#move_to", held[1])
    await page.fill("#move_effective", "2031-04-10")
    await page.click("#move-seat-btn")
    await page.locator("#move-seat-form .field-error").wait_for()
    assert "not free" in await page.locator("#move-seat-form").inner_text()
    assert (await staff.get(f"/v1/leases/{lease['id']}/seat-moves"))["items"] == []

    # then onto a free seat: the agent goes with it
    await page.fill("#move_to", free_same_floor)
    await page.click("#move-seat-btn")
    await page.wait_for_url(re.compile(r".*/admin/leases/[0-9a-f-]{36}\?flash=.*"))
    assert "Seat moved" in await page.locator("#flash").inner_text()
    # still two seats: the moved one counts once, and says when it moves
    assert await page.locator("#lease-seat-count").inner_text() == "2 (1 moving)"
    assert f"{free_same_floor} from 2031-04-10" in await page.locator("#assignments").inner_text()
    assert f"{held[0]} to 2031-04-09" in await page.locator("#assignments").inner_text()
    rows = await page.locator("#seat-moves tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert held[0] in rows[0]
    assert free_same_floor in rows[0]
    assert "Agent" in rows[0]
    moves = (await staff.get(f"/v1/leases/{lease['id']}/seat-moves"))["items"]
    assert [(label[m["from_seat_id"]], label[m["to_seat_id"]], m["effective_date"]) for m in moves] == [
        (held[0], free_same_floor, "2031-04-10")
    ]

    # the whole lease to the other floor from June, placed together by the allocator
    other_floor = next(f for f in w.floors if not held[0].startswith(f["name"]))
    await changes.get_by_text("Move the lease to another floor").click()
    await page.select_option("#floor_id", other_floor["id"])
    await page.fill("#floor_effective", "2031-06-01")
    await page.click("#move-floor-btn")
    await page.wait_for_url(re.compile(r".*flash=.*"))
    assert "Lease moved floors" in await page.locator("#flash").inner_text()
    view = await staff.get(f"/v1/leases/{lease['id']}")
    june = [p for p in view["seat_periods"] if p["start_date"] == "2031-06-01"]
    assert len(june) == 2
    assert all(p["label"].startswith(other_floor["name"]) for p in june)
    assert len(await page.locator("#seat-moves tbody tr").all()) == 3

    # an add-on: 2 monitors become 3 from May 15th
    await changes.get_by_text("Add, change or remove an add-on").click()
    await page.select_option("#addon_code", "extra_monitor")
    await page.fill("#addon_quantity", "3")
    await page.fill("#addon_effective", "2031-05-15")
    await page.click("#addon-btn")
    await page.wait_for_url(re.compile(r".*flash=.*"))
    periods = await page.locator("#add-on-periods tbody tr").all_inner_texts()
    assert [re.sub(r"\s+", " ", p).strip() for p in periods] == [
        "Extra monitor 2 2031-03-01 2031-05-14",
        "Extra monitor 3 2031-05-15 end of lease",
    ]
    api = (await staff.get(f"/v1/leases/{lease['id']}/add-ons"))["items"]
    assert [(p["quantity"], p["start_date"], p["end_date"]) for p in api] == [
        (2, "2031-03-01", "2031-05-14"),
        (3, "2031-05-15", None),
    ]
    assert await page.locator("#lease-seat-count").inner_text() == "2 (3 moving)"
    terms = await page.locator("#lease-summary").inner_text()
    assert "2 × Extra monitor to 2031-05-14, 3 × Extra monitor from 2031-05-15" in terms
    await shot(page, "lease-term-changes")


async def test_an_add_on_change_outside_the_term_is_refused_alike_by_the_api_and_the_admin(
    live_http: httpx.Client, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2031-06-01", end_date="2031-08-31"))
    api = await staff.call(
        "PUT", f"/v1/leases/{lease['id']}/add-ons/extra_monitor", 422, json={"quantity": 1, "effective": "2031-09-01"}
    )
    detail = api.json()["detail"]
    email, _ = await make_user(db, "admin", password=PASSWORD)
    admin_login(live_http, email)
    r = _admin_post(
        live_http, lease["id"], "add-ons", {"addon_code": "extra_monitor", "addon_quantity": "1", "addon_effective": "2031-09-01"}
    )
    assert r.status_code == 422
    assert detail in r.text
    # a seat move onto a seat in maintenance: the same message through both edges, nothing moved
    seat = lease["seats"][0]
    target = next(x for x in w.seats if x["id"] != seat["id"])
    await staff.call("PATCH", f"/v1/seats/{target['id']}", 200, json={"status": "maintenance"})
    body = {"seat_id": seat["id"], "to_seat_id": target["id"], "effective": "2031-07-01"}
    api = await staff.call("POST", f"/v1/leases/{lease['id']}/seat-moves", 409, json=body)
    detail = api.json()["detail"]
    r = _admin_post(
        live_http,
        lease["id"],
        "move-seat",
        {"move_from": seat["label"], "move_to": target["label"], "move_effective": "2031-07-01"},
    )
    assert r.status_code == 422
    assert detail in r.text
    assert (await staff.get(f"/v1/leases/{lease['id']}/add-ons"))["items"] == []
    assert (await staff.get(f"/v1/leases/{lease['id']}/seat-moves"))["items"] == []
