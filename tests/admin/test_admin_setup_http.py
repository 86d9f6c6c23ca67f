"""Issue 13's set-up pages over plain HTTP: who may open them, another site's floor or shift by URL is
a 404 page, and a second site with a taken code is refused next to its field with nothing saved."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx

from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, make_world, uniq


def _csrf(page: httpx.Response) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


async def test_finance_does_not_set_up_sites(live_http: httpx.Client, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "finance", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    r = await asyncio.to_thread(live_http.get, "/admin/sites")
    assert r.status_code == 403
    page = await asyncio.to_thread(live_http.get, "/admin/")
    assert 'href="/admin/sites"' not in page.text  # the nav shows Sites to admins and facility staff only


async def test_another_sites_floor_or_shift_is_not_found(live_http: httpx.Client, db: asyncpg.Pool, staff: Api) -> None:
    a, b = await make_world(staff, zones=1, seats_per_zone=1), await make_world(staff, zones=1, seats_per_zone=1)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    ok = await asyncio.to_thread(live_http.get, f"/admin/sites/{a.site['id']}/floors/{a.floors[0]['id']}")
    assert ok.status_code == 200
    assert f'href="/admin/sites/{a.site["id"]}/floors/{a.floors[0]["id"]}/editor"' in ok.text
    for path in (f"floors/{b.floors[0]['id']}", f"shifts/{b.shifts['DAY']['id']}"):
        r = await asyncio.to_thread(live_http.get, f"/admin/sites/{a.site['id']}/{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")


async def test_a_taken_site_code_is_refused_inline_and_nothing_is_saved(
    live_http: httpx.Client, db: asyncpg.Pool, staff: Api
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    email, _ = await make_user(db, "admin", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    page = await asyncio.to_thread(live_http.get, "/admin/sites")
    name = f"Twin {uniq()}"
    form = {"csrf_token": _csrf(page), "code": w.site["code"], "name": name, "timezone": "Asia/Manila"}
    form |= {"currency": "PHP", "tax_rate": "12", "tax_label": "VAT", "legal_name": "Twin Inc."}
    r = await asyncio.to_thread(live_http.post, "/admin/sites", data=form)
    assert r.status_code == 422
    assert 'id="code-error"' in r.text
    assert f'value="{name}"' in r.text
    assert 'value="Twin Inc."' in r.text
    assert await db.fetchval("SELECT count(*) FROM sites WHERE name = $1", name) == 0
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'site.create' AND after->>'name' = $1", name) == 0


async def test_the_nav_marks_sites_on_set_up_pages_and_seat_map_on_a_sites_map(
    live_http: httpx.Client, db: asyncpg.Pool, staff: Api
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await asyncio.to_thread(admin_login, live_http, email)
    current = re.compile(r'<a href="([^"]+)" aria-current="page">')
    setup = await asyncio.to_thread(live_http.get, f"/admin/sites/{w.site['id']}")
    assert current.findall(setup.text) == ["/admin/sites"]
    seat_map = await asyncio.to_thread(live_http.get, f"/admin/sites/{w.site['id']}/map")
    assert current.findall(seat_map.text) == ["/admin/map"]
