"""The API and the admin run one use-case per lease action: the same refusal, the same message,
nothing written, through both edges."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import asyncpg
import httpx

from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


def _csrf(http: httpx.Client, path: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(path).text)
    assert token is not None
    return token.group(1)


def _admin_post(http: httpx.Client, lease_id: str, action: str, data: dict[str, str]) -> httpx.Response:
    page = f"/admin/leases/{lease_id}"
    return http.post(f"{page}/{action}", data={"csrf_token": _csrf(http, page), **data})


async def test_ending_before_the_start_is_refused_alike_by_the_api_and_the_admin(
    live_http: httpx.Client, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2031-06-01"))
    api = await staff.call("POST", f"/v1/leases/{lease['id']}/end", 422, json={"end_date": "2031-05-01"})
    detail = api.json()["detail"]
    assert "before the lease start" in detail
    email, _ = await make_user(db, "admin", password=PASSWORD)
    admin_login(live_http, email)
    r = _admin_post(live_http, lease["id"], "end", {"end_date": "2031-05-01"})
    assert r.status_code == 422
    assert html.escape(detail) in r.text
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["end_date"] is None


async def test_cancelling_a_started_lease_is_refused_alike_by_the_api_and_the_admin(
    live_http: httpx.Client, staff: Api, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    started = (date.today() - timedelta(days=3)).isoformat()
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=started))
    assert lease["status"] == "active"
    api = await staff.call("POST", f"/v1/leases/{lease['id']}/cancel", 409)
    detail = api.json()["detail"]
    assert "has not started" in detail
    email, _ = await make_user(db, "admin", password=PASSWORD)
    admin_login(live_http, email)
    r = _admin_post(live_http, lease["id"], "cancel", {})
    assert r.status_code == 422
    assert html.escape(detail) in r.text
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] == "active"
