"""Teams and members through both edges (API and admin): one use-case each, the same answers.

Settled difference (issue 9): removing a member already removed was a 409 in the API and a silent
success in the admin; it is a 409 "member already removed" in both, and writes nothing again.
A removal wakes the reconciler exactly once."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import httpx

from domain.events import LEASES_CHANNEL
from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, make_world


async def _removals(db: asyncpg.Pool, member_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'member.remove' AND object_id = $1",
            member_id,
        )
    )


class WakeUps:
    """Counts the reconciler's wake-ups (NOTIFY on the leases channel) while it listens."""

    def __init__(self, db: asyncpg.Pool) -> None:
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


async def test_api_removes_a_member_once_then_409(staff: Api, db: asyncpg.Pool) -> None:
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


def _post_in_admin(live_http: httpx.Client, client_id: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A form of the client's page, posted with the page's CSRF token."""
    page = live_http.get(f"/admin/clients/{client_id}")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return live_http.post(path, data={"csrf_token": token.group(1), **(data or {})})


def _remove_in_admin(live_http: httpx.Client, client_id: str, member_id: str) -> httpx.Response:
    """The confirmation's own form (the client page's "remove…" only asks)."""
    return _post_in_admin(live_http, client_id, f"/admin/members/{member_id}/remove", {"confirmed": "yes"})


async def test_admin_removes_a_member_once_then_409(staff: Api, db: asyncpg.Pool, live_http: httpx.Client) -> None:
    w = await make_world(staff)
    member = w.members[0]["id"]
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    assert admin_login(live_http, email).status_code == 303
    # the client page's "remove…" asks first: what is lost, and nothing changed nor announced
    async with WakeUps(db) as wake:
        asked = await asyncio.to_thread(_post_in_admin, live_http, w.client["id"], f"/admin/members/{member}/remove")
    assert asked.status_code == 200
    assert "Remove the member" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert wake.count == 0
    assert await _removals(db, member) == 0
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


async def test_duplicate_team_and_member_get_the_same_answer_in_both_edges(
    staff: Api, db: asyncpg.Pool, live_http: httpx.Client
) -> None:
    w = await make_world(staff)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    assert admin_login(live_http, email).status_code == 303
    team_exists = "a team with this name exists"
    member_exists = "a member with this email exists for this client"

    api = await staff.call("POST", f"/v1/clients/{w.client['id']}/teams", 409, json={"name": w.team["name"]})
    assert api.json()["detail"] == team_exists
    page = await asyncio.to_thread(
        _post_in_admin, live_http, w.client["id"], f"/admin/clients/{w.client['id']}/teams", {"team_name": w.team["name"]}
    )
    assert page.status_code == 422  # the admin's form comes back with the error beside its field
    assert team_exists in page.text

    taken = w.members[0]["email"].upper()  # emails are compared case-blind in both edges
    body = {"name": "Twin", "email": taken, "employee_id": ""}
    api = await staff.call("POST", f"/v1/teams/{w.team['id']}/members", 409, json=body)
    assert api.json()["detail"] == member_exists
    page = await asyncio.to_thread(_post_in_admin, live_http, w.client["id"], f"/admin/teams/{w.team['id']}/members", body)
    assert page.status_code == 422
    assert member_exists in page.text
    created = await asyncio.to_thread(
        _post_in_admin,
        live_http,
        w.client["id"],
        f"/admin/teams/{w.team['id']}/members",
        {"name": "Agent 7", "email": "agent7@client-example.com", "employee_id": "E0007"},
    )
    assert created.status_code == 303
    listed = await staff.get(f"/v1/teams/{w.team['id']}/members")
    assert [m["email"] for m in listed["items"] if m["name"] == "Agent 7"] == ["agent7@client-example.com"]
