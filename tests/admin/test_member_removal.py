"""Removing a member runs one use-case through both edges: the same answers, one wake-up each.

Settled difference (issue 9): removing a member already removed was a 409 in the API and a silent
success in the admin; it is a 409 "member already removed" in both, and writes nothing again."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from domain.events import LEASES_CHANNEL
from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, make_world


async def _removals(db: Any, member_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'member.remove' AND object_id = $1",
            member_id,
        )
    )


class WakeUps:
    """Counts the reconciler's wake-ups (NOTIFY on the leases channel) while it listens."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.count = 0

    def _heard(self, *_: Any) -> None:
        self.count += 1

    async def __aenter__(self) -> WakeUps:
        self.conn = await self.db.acquire()
        await self.conn.add_listener(LEASES_CHANNEL, self._heard)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await asyncio.sleep(0.3)  # a notification arrives after the commit, asynchronously
        await self.conn.remove_listener(LEASES_CHANNEL, self._heard)
        await self.db.release(self.conn)


async def test_api_removes_a_member_once_then_409(staff: Api, db: Any) -> None:
    w = await make_world(staff)
    member = w.members[0]["id"]
    async with WakeUps(db) as wake:
        removed = await staff.call("DELETE", f"/v1/members/{member}", 200)
    assert removed.json()["active"] is False
    assert wake.count == 1
    async with WakeUps(db) as wake:
        again = await staff.call("DELETE", f"/v1/members/{member}", 409)
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == "member already removed"
    assert wake.count == 0
    assert await _removals(db, member) == 1


def _remove_in_admin(live_http: httpx.Client, client_id: str, member_id: str) -> httpx.Response:
    page = live_http.get(f"/admin/clients/{client_id}")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return live_http.post(f"/admin/members/{member_id}/remove", data={"csrf_token": token.group(1)})


async def test_admin_removes_a_member_once_then_409(staff: Api, db: Any, live_http: httpx.Client) -> None:
    w = await make_world(staff)
    member = w.members[0]["id"]
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    assert admin_login(live_http, email).status_code == 303
    async with WakeUps(db) as wake:
        r = await asyncio.to_thread(_remove_in_admin, live_http, w.client["id"], member)
    assert r.status_code == 303
    assert "removed" in r.headers["location"]
    assert wake.count == 1
    listed = await staff.get(f"/v1/teams/{w.team['id']}/members")
    assert [m["active"] for m in listed["items"] if m["id"] == member] == [False]
    async with WakeUps(db) as wake:
        again = await asyncio.to_thread(_remove_in_admin, live_http, w.client["id"], member)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert "member already removed" in again.text
    assert wake.count == 0
    assert await _removals(db, member) == 1
