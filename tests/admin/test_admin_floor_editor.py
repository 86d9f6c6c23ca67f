"""The floor-plan editor in headless Chromium (issue 13): draw a floor, then see the seat map draw it;
and the admin fitting a 1440-pixel screen and a phone."""

from __future__ import annotations

import re

import asyncpg
from playwright.async_api import Browser, FilePayload, Page

from tests.admin.conftest import CHROMIUM_ARGS, attr, login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, lease_body, make_world

CELL_W, CELL_H, TOP = 40, 30, 22  # service/admin/seatmap.py


async def _seat_xy(page: Page, label: str) -> tuple[int, int]:
    g = page.locator(f'g.seat[data-label="{label}"]')
    return int(await attr(g, "data-x")), int(await attr(g, "data-y"))


async def _drag(page: Page, label: str, cells_right: int, cells_down: int) -> None:
    """Real mouse events: press on the seat, move in steps, release."""
    seat = page.locator(f'#floor-editor g.seat[data-label="{label}"]')
    await seat.scroll_into_view_if_needed()
    box = await seat.bounding_box()
    svg_box = await page.locator("#floor-editor svg").bounding_box()
    view_w = float((await attr(page.locator("#floor-editor svg"), "viewBox")).split()[2])
    assert box is not None
    assert svg_box is not None
    scale = svg_box["width"] / view_w  # the map may be drawn scaled
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + cells_right * CELL_W * scale, y + cells_down * CELL_H * scale, steps=8)
    await page.mouse.up()


async def test_draw_a_floor_in_the_editor_and_see_the_map_draw_it(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    site, floor = w.site["id"], w.floors[0]["id"]
    await login(page, await staff_login(db))
    await page.goto(f"/admin/sites/{site}/map")
    await page.click("#floor-editor-link")
    await page.wait_for_url(re.compile(rf".*/admin/sites/{site}/floors/{floor}/editor$"))
    url = page.url

    # a block of 2 rows × 6 with generated labels
    await page.fill("#prefix", "N-")
    await page.fill("#block-zone", "NORTH")
    await page.fill("#rows", "2")
    await page.fill("#columns", "6")
    await page.click("#add-block-btn")
    await page.get_by_text("Added 12 seats: N-01 … N-12").wait_for()
    assert await page.locator("#floor-editor g.seat").count() == 16
    # the same labels again: the clash is named next to the prefix, what was typed stays
    await page.fill("#prefix", "N-")
    await page.fill("#block-zone", "NORTH")
    await page.fill("#start", "12")
    await page.click("#add-block-btn")
    assert "label N-12 is already used on this site" in await page.locator("#prefix-error").inner_text()
    assert await page.input_value("#start") == "12"
    await page.goto(url)

    # drag N-03 three cells right and two rows down: saved on drop
    x0, y0 = await _seat_xy(page, "N-03")
    await _drag(page, "N-03", 3, 2)
    await page.get_by_text(f"Saved: N-03 at column {x0 + 3}, row {y0 + 2}").wait_for()
    # dropped on another seat: refused, and the seat goes back
    x1, y1 = await _seat_xy(page, "N-01")
    await _drag(page, "N-01", 1, 0)
    await page.locator("#editor-status.error").wait_for()
    assert "N-02" in await page.locator("#editor-status").inner_text()
    assert await _seat_xy(page, "N-01") == (x1, y1)

    # choose two seats by clicking, set their zone
    await page.locator('#floor-editor g.seat[data-label="N-01"]').click()
    await page.locator('#floor-editor g.seat[data-label="N-02"]').click()
    assert await page.input_value("#labels") == "N-01, N-02"
    await page.fill("#sel-zone", "SOUTH")
    await page.click("#set-zone-btn")
    await page.get_by_text("2 seats in zone SOUTH").wait_for()
    assert await page.locator('g.seat[data-label="N-02"]').get_attribute("data-zone") == "SOUTH"
    # one into maintenance
    await page.fill("#labels", "N-04")
    await page.click("#maintenance-btn")
    await page.get_by_text("N-04 in maintenance").wait_for()
    # retiring asks first; a leased seat cannot be retired, and the error names it
    lease = await staff.post(
        "/v1/leases", lease_body(w, seat_count=None, seat_ids=[await _seat_id(page, "N-06")], start_date="2031-04-01")
    )
    await page.fill("#labels", "N-06")
    await page.click("#retire-btn")
    await page.click("#retire-confirm-btn")
    assert "N-06 is leased now or later" in await page.locator("#labels-error").inner_text()
    await page.fill("#labels", "N-05")
    await page.click("#retire-btn")
    assert "Retire N-05?" in await page.locator("#retire-confirm").inner_text()
    await shot(page, "floor-editor-retire-confirm")
    await page.click("#retire-confirm-btn")
    await page.get_by_text("Retired N-05").wait_for()
    await shot(page, "floor-editor")

    # reload: the positions were kept
    await page.reload()
    assert await _seat_xy(page, "N-03") == (x0 + 3, y0 + 2)
    assert await page.locator('g.seat[data-label="N-05"]').get_attribute("data-state") == "retired"

    # the seat map draws the seats where they were saved
    await page.click("#to-map")
    seat = page.locator('#seatmap g.seat[data-label="N-03"]')
    assert await seat.get_attribute("transform") == f"translate({(x0 + 3) * CELL_W},{TOP + (y0 + 2) * CELL_H})"
    assert await page.locator('#seatmap g.seat[data-label="N-04"]').get_attribute("data-state") == "maintenance"
    assert await page.locator('#seatmap g.seat[data-label="N-05"]').get_attribute("data-state") == "retired"
    assert "Zone SOUTH" in await text_of(page.locator("#seatmap svg"))
    await shot(page, "seat-map-drawn")
    # the maintenance seat is not bookable: no booking from its panel, not offered, refused by name
    await page.locator('#seatmap g.seat[data-label="N-04"]').click()
    await page.locator("#seat-panel h2", has_text="N-04").wait_for()
    assert await page.get_by_role("link", name="Book this seat").count() == 0
    avail = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "DAY", "start": "2031-01-01", "seats": 100})
    assert "N-04" not in {s["label"] for s in avail["seats"]}
    assert "N-05" not in {s["label"] for s in avail["seats"]}
    r = await staff.call("POST", "/v1/leases", json=lease_body(w, seat_count=None, seat_ids=[await _seat_id(page, "N-04")]))
    assert r.status_code == 409
    assert lease["status"] in ("confirmed", "active")


async def _seat_id(page: Page, label: str) -> str:
    return await attr(page.locator(f'g.seat[data-label="{label}"]'), "data-seat")


async def test_finance_cannot_open_the_editor(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    r = await page.request.get(f"/admin/sites/{w.site['id']}/floors/{w.floors[0]['id']}/editor")
    assert r.status == 403


async def test_pages_fit_a_1440_screen_and_a_phone(browser: Browser, live_server: str, staff: Api, db: asyncpg.Pool) -> None:
    """No page scrolls sideways: the map scales (or scrolls inside its box), tables scroll inside
    their box, and on a phone the navigation folds into a Menu button."""
    w = await make_world(staff, zones=3, seats_per_zone=12)
    # a wide floor: a row of 36 seats is 1,440 map pixels, and a second floor of 50 (2,000 pixels)
    await staff.post(f"/v1/floors/{w.floors[0]['id']}/seat-blocks", {"zone": "WIDE", "prefix": "W-", "columns": 36})
    huge = await staff.post(f"/v1/sites/{w.site['id']}/floors", {"name": "Hall", "level": 9})
    await staff.post(f"/v1/floors/{huge['id']}/seat-blocks", {"zone": "HALL", "prefix": "H-", "columns": 50, "rows": 3})
    await staff.post("/v1/leases", lease_body(w, seat_count=3, start_date="2031-02-01"))
    email = await staff_login(db, "admin")
    site, floor = w.site["id"], w.floors[0]["id"]
    pages = {
        "map": f"/admin/sites/{site}/map?floor_id={floor}",
        "map-hall": f"/admin/sites/{site}/map?floor_id={huge['id']}",  # scrolls inside its box
        "editor": f"/admin/sites/{site}/floors/{floor}/editor",
        "dashboard": "/admin/",
        "leases": "/admin/leases",
        "lease-new": f"/admin/leases/new?site_id={site}",
        "clients": "/admin/clients",
        "plans": "/admin/plans",
    }
    for width, height in ((1440, 900), (375, 812)):
        context = await browser.new_context(base_url=live_server, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))  # noqa: B023 — read before the next context
        await login(page, email)
        await page.wait_for_url(re.compile(r".*/admin/$"))
        for name, path in pages.items():
            await page.goto(path)
            scroll, inner = await page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            await shot(page, f"fit-{width}-{name}")
            assert scroll <= inner, f"{path} at {width}px: the page is {scroll}px wide"
        # the 36-column floor is scaled to fit its box at 1440
        await page.goto(pages["map"])
        svg_w, box_w = await page.evaluate(
            "[document.querySelector('#seatmap svg').getBoundingClientRect().width,"
            " document.querySelector('#seatmap').clientWidth]"
        )
        if width == 1440:
            assert svg_w <= box_w
        if width == 375:
            nav = page.locator("#side-nav")
            assert not await nav.is_visible()
            await page.click(".nav-toggle")
            assert await nav.is_visible()
            await shot(page, "fit-375-menu")
        await context.close()
        assert not errors, errors
    assert CHROMIUM_ARGS  # the same browser as every admin test


async def test_upload_a_plan_drawing_and_see_it_under_the_seats(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    from tests.test_floor_plan import png

    w = await make_world(staff, zones=1, seats_per_zone=4)
    site, floor = w.site["id"], w.floors[0]["id"]
    await login(page, await staff_login(db))
    await page.goto(f"/admin/sites/{site}/floors/{floor}/editor")
    # an SVG is refused next to the field
    await page.set_input_files(
        "#drawing-file", files=FilePayload(name="plan.svg", mimeType="image/svg+xml", buffer=b"<svg onload='alert(1)'/>")
    )
    await page.click("#drawing-btn")
    assert "SVG and other formats are refused" in await page.locator("#image-error").inner_text()
    await page.set_input_files("#drawing-file", files=FilePayload(name="plan.png", mimeType="image/png", buffer=png(480, 300)))
    await page.fill("#drawing-cells", "12")
    await page.click("#drawing-btn")
    await page.get_by_text("Plan drawing saved").wait_for()
    image = page.locator("#floor-editor image.plan-image")
    assert await image.get_attribute("width") == str(12 * CELL_W)
    href = await attr(image, "href")
    r = await page.request.get(href)
    assert r.status == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    await shot(page, "floor-editor-drawing")
    await page.click("#to-map")
    assert await page.locator("#seatmap image.plan-image").count() == 1
    await page.goto(f"/admin/sites/{site}/floors/{floor}/editor")
    await page.click("#drawing-remove-btn")
    await page.get_by_text("Plan drawing removed").wait_for()
    assert await page.locator("#floor-editor image.plan-image").count() == 0
