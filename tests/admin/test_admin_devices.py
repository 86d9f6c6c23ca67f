"""Devices (issue 13): the inventory paged and filtered by site, kind, state and serial in the admin
and the API alike; "mark returned" only on a device out with a lease or due back, and the use-case
refuses the others."""

from __future__ import annotations

import re
import uuid

import asyncpg
from playwright.async_api import Page

from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, make_world


async def stock(db: asyncpg.Pool, site_id: str, tag: str) -> dict[str, list[str]]:
    """130 devices on one site: 80 pcs in stock, 30 headsets assigned (10 of them due back), 10
    monitors in repair, 10 monitors retired. Serials `<tag>-<kind>-<n>`."""
    plan = [("pc", "in_stock", False)] * 80 + [("headset", "assigned", False)] * 20 + [("headset", "assigned", True)] * 10
    plan += [("monitor", "in_repair", False)] * 10 + [("monitor", "retired", False)] * 10
    out: dict[str, list[str]] = {}
    for n, (kind, status, due) in enumerate(plan):
        serial = f"{tag}-{kind}-{n:03d}"
        out.setdefault(f"{status}{'-due' if due else ''}", []).append(serial)
        await db.execute(
            "INSERT INTO devices (id, serial, kind, site_id, status, return_due_at, created_at)"
            " VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END, now() + make_interval(secs => $7))",
            uuid.uuid4(),
            serial,
            kind,
            uuid.UUID(site_id),
            status,
            due,
            float(n),
        )
    return out


async def test_api_filters_and_pages_devices(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    tag = f"T{uuid.uuid4().hex[:6]}"
    await stock(db, w.site["id"], tag)
    site = {"site_id": w.site["id"]}
    seen: list[str] = []
    cursor = None
    while True:
        page = await staff.get("/v1/devices", params={**site, "limit": 40, **({"cursor": cursor} if cursor else {})})
        seen += [d["serial"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 130
    headsets = await staff.get("/v1/devices", params={**site, "kind": "headset", "status": "assigned", "limit": 500})
    assert len(headsets["items"]) == 30
    due = await staff.get("/v1/devices", params={**site, "awaiting_return": "true", "limit": 500})
    assert len(due["items"]) == 10
    # the serial search: any part, any case
    found = await staff.get("/v1/devices", params={"serial": f"{tag.lower()}-monitor-12", "limit": 500})
    assert sorted(d["serial"] for d in found["items"]) == [
        f"{tag}-monitor-120",
        f"{tag}-monitor-121",
        f"{tag}-monitor-122",
        f"{tag}-monitor-123",
        f"{tag}-monitor-124",
        f"{tag}-monitor-125",
        f"{tag}-monitor-126",
        f"{tag}-monitor-127",
        f"{tag}-monitor-128",
        f"{tag}-monitor-129",
    ]
    # a % or _ in the search is a character, not a wildcard
    assert (await staff.get("/v1/devices", params={"serial": f"{tag}%"}))["items"] == []
    r = await staff.call("GET", "/v1/devices", params={"serial": ""})
    assert r.status_code == 422


async def test_returned_only_for_a_device_out_with_a_lease(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    for status in ("in_stock", "in_repair", "retired"):
        d = await staff.post(
            "/v1/devices", {"serial": f"SN-{uuid.uuid4().hex[:10]}", "kind": "pc", "site_id": w.site["id"], "status": status}
        )
        r = await staff.call("PATCH", f"/v1/devices/{d['id']}", 409, json={"returned": True})
        assert "not due back" in r.json()["detail"]
        row = await db.fetchrow("SELECT status FROM devices WHERE id = $1", uuid.UUID(d["id"]))
        assert row["status"] == status
        assert (
            await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'device.update'", d["id"]) == 0
        )


async def test_devices_page_pages_filters_and_offers_returns_only_where_due(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    tag = f"T{uuid.uuid4().hex[:6]}"
    made = await stock(db, w.site["id"], tag)
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/devices")
    await page.select_option("#f-site", w.site["id"])
    await page.click("#device-filter-btn")
    rows = page.locator("#device-table tbody tr[data-serial]")
    await page.locator("#devices-next").wait_for()
    assert await rows.count() == 50
    first = await rows.evaluate_all("rs => rs.map(r => r.dataset.serial)")
    assert first[0] == f"{tag}-monitor-129"  # newest added first
    await page.click("#devices-next")
    await page.locator("#devices-first").wait_for()
    second = await rows.evaluate_all("rs => rs.map(r => r.dataset.serial)")
    assert len(second) == 50
    assert not set(first) & set(second)
    await page.click("#devices-next")
    third = await rows.evaluate_all("rs => rs.map(r => r.dataset.serial)")
    assert len(third) == 30
    assert await page.locator("#devices-next").count() == 0
    assert sorted(first + second + third) == sorted(s for v in made.values() for s in v)
    assert await page.input_value("#f-site") == w.site["id"]  # the filter holds across pages

    # kind and state: 10 monitors in repair, none of them can be "returned"
    await page.select_option("#f-kind", "monitor")
    await page.select_option("#f-status", "in_repair")
    await page.click("#device-filter-btn")
    await page.wait_for_url(re.compile(r".*status=in_repair.*"))
    assert await rows.count() == 10
    assert await page.locator(".mark-returned").count() == 0

    # in stock and retired: no "mark returned"; assigned and due back: one each
    for status, offered in (("in_stock", 0), ("retired", 0), ("assigned", 30)):
        await page.goto(f"/admin/devices?site_id={w.site['id']}&status={status}&kind=")
        assert await page.locator(".mark-returned").count() == min(offered, 50), status

    # the serial search, then a return with its confirmation
    due = made["assigned-due"][0]
    await page.goto("/admin/devices")
    await page.fill("#f-q", due.lower())
    await page.click("#device-filter-btn")
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.serial)") == [due]
    await shot(page, "devices-filtered")
    page.once("dialog", lambda d: d.accept())
    await page.locator(".mark-returned").click()
    await page.get_by_text("Device back in stock").wait_for()
    assert await db.fetchval("SELECT status FROM devices WHERE serial = $1", due) == "in_stock"
    await page.goto(f"/admin/devices?site_id={w.site['id']}")
    await shot(page, "devices-paged")
