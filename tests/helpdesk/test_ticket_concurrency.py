"""Two changes of one ticket at once never lose one: each locks the ticket's row, the second decides on
the first's result."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.factories import Api
from tests.helpdesk.conftest import Desk


async def test_two_resolves_at_once_resolve_once(desk: Desk, staff: Api, admin: Api, db: asyncpg.Pool) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    body = {"status": "resolved", "resolution": "done"}
    a, b = await asyncio.gather(
        staff.call("POST", f"/v1/tickets/{t['id']}/status", json=body),
        admin.call("POST", f"/v1/tickets/{t['id']}/status", json=body),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409]
    n = await db.fetchval(
        "SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND to_status = 'resolved'", uuid.UUID(t["id"])
    )
    assert n == 1


async def test_reopens_and_comments_at_once_are_all_counted(desk: Desk, staff: Api, db: asyncpg.Pool) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    path = f"/v1/tickets/{t['id']}"
    await staff.post(f"{path}/status", {"status": "waiting_on_client"}, expect=200)
    # ten answers at once: one moves the ticket back to in progress, all ten are kept
    rs = await asyncio.gather(*(desk.client.call("POST", f"{path}/comments", json={"body": f"answer {i}"}) for i in range(10)))
    assert [r.status_code for r in rs] == [201] * 10
    rows = await db.fetch("SELECT kind, to_status FROM ticket_events WHERE ticket_id = $1 ORDER BY id", uuid.UUID(t["id"]))
    assert [r["kind"] for r in rows].count("comment") == 10
    assert [(r["kind"], r["to_status"]) for r in rows].count(("status", "in_progress")) == 1
    # a priority change and a status change at once: both land
    await asyncio.gather(
        staff.call("PATCH", path, 200, json={"priority": "urgent"}),
        staff.call("POST", f"{path}/status", 200, json={"status": "resolved", "resolution": "ok"}),
    )
    final = await staff.get(path)
    assert (final["priority"], final["status"]) == ("urgent", "resolved")
