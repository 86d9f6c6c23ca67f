"""The audit page and GET /v1/audit-events (issue 13): thousands of events, each filter alone and
combined, newest first with a cursor new events don't shift, before/after shown as a diff, the
filters served by indexes (EXPLAIN), links from object pages, admin only."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page

from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.factories import Api, lease_body, make_world, uniq

N = 3000  # events seeded; a year of the facility is more, the plans below do not depend on it


class Seeded:
    def __init__(self, tag: str, day0: datetime, object_ids: list[str], actors: list[str]) -> None:
        self.tag, self.day0, self.object_ids, self.actors = tag, day0, object_ids, actors

    @property
    def action(self) -> str:
        return f"test.{self.tag.lower()}"


async def seed(db: asyncpg.Pool) -> Seeded:
    """N events in a year no other test writes: one per 10 minutes from a random day of 2001, on 30
    objects, by 3 actors, every 7th a `<tag>` action; with before/after like a real update."""
    tag = uniq("A")
    day0 = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    object_ids = [str(uuid.uuid4()) for _ in range(30)]
    actors = [f"auditor-{tag.lower()}-{i}@seatlease-example.com" for i in range(3)]
    # three rare events, oldest of all: what a backward scan of the table would find last
    rows: list[tuple[Any, ...]] = [
        (
            day0 - timedelta(days=1),
            uuid.uuid4(),
            f"rare-{tag.lower()}@seatlease-example.com",
            f"test.rare_{tag.lower()}",
            "rare",
            f"rare-{tag}",
            None,
            "{}",
        )
        for _ in range(3)
    ]
    for i in range(N):
        before = {"status": "confirmed", "seat_count": i}
        after = {"status": "active" if i % 2 else "confirmed", "seat_count": i + 1, "note": f"n{i}"}
        rows.append(
            (
                day0 + timedelta(minutes=10 * i),
                uuid.uuid4(),
                actors[i % 3],
                f"test.{tag.lower()}" if i % 7 == 0 else "test.bulk",
                "lease" if i % 2 else "test_object",
                object_ids[i % 30],
                json.dumps(before),
                json.dumps(after),
            )
        )
    await db.copy_records_to_table(
        "audit_events", columns=["at", "actor_id", "actor", "action", "object_type", "object_id", "before", "after"], records=rows
    )
    return Seeded(tag, day0, object_ids, actors)


@pytest.fixture(scope="module")
async def seeded(db: asyncpg.Pool) -> Seeded:
    return await seed(db)


async def all_pages(api: Api, params: dict[str, Any], limit: int = 500) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await api.get("/v1/audit-events", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def test_api_filters_each_and_combined(admin: Api, seeded: Seeded) -> None:
    s = seeded
    day = s.day0.isoformat()
    span = {"since": day, "until": (s.day0 + timedelta(minutes=10 * N)).isoformat()}

    everything = await all_pages(admin, span)
    assert len(everything) == N  # the rare three are the day before
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)  # newest first, no repeats across pages
    assert len(set(ids)) == N

    by_action = await all_pages(admin, {"action": s.action})
    assert len(by_action) == len(range(0, N, 7))
    assert {e["action"] for e in by_action} == {s.action}

    by_actor = await all_pages(admin, {**span, "actor": s.actors[1]})
    assert len(by_actor) == N // 3
    assert {e["actor"] for e in by_actor} == {s.actors[1]}

    by_object = await all_pages(admin, {"object_type": "lease", "object_id": s.object_ids[1]})
    assert len(by_object) == N // 30
    assert {(e["object_type"], e["object_id"]) for e in by_object} == {("lease", s.object_ids[1])}
    # an object id alone finds its events whatever their type; an odd index is never a test_object
    assert len(await all_pages(admin, {"object_id": s.object_ids[1]})) == N // 30
    assert await all_pages(admin, {"object_type": "test_object", "object_id": s.object_ids[1]}) == []

    # an hour of events: [since, until) holds 6 of them
    hour = {"since": (s.day0 + timedelta(minutes=600)).isoformat(), "until": (s.day0 + timedelta(minutes=660)).isoformat()}
    in_hour = await all_pages(admin, hour)
    assert [e["before"]["seat_count"] for e in in_hour] == [65, 64, 63, 62, 61, 60]

    both = await all_pages(admin, {**span, "action": s.action, "actor": s.actors[0], "object_type": "test_object"})
    # i % 7 == 0, i % 3 == 0, i even: every 42nd
    assert len(both) == len(range(0, N, 42))


async def test_cursor_is_stable_while_events_arrive(admin: Api, seeded: Seeded, db: asyncpg.Pool) -> None:
    first = await admin.get("/v1/audit-events", params={"action": seeded.action, "limit": 100})
    await db.execute(
        "INSERT INTO audit_events (actor, action, object_type, object_id) VALUES ('x', $1, 'lease', 'new')", seeded.action
    )
    second = await admin.get("/v1/audit-events", params={"action": seeded.action, "limit": 100, "cursor": first["next_cursor"]})
    assert second["items"][0]["id"] < first["items"][-1]["id"]
    assert {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])


async def test_bad_filters_are_named(admin: Api) -> None:
    for params, field in (
        ({"cursor": "abc"}, "cursor"),
        ({"since": "yesterday"}, "since"),
        ({"actor_id": "nope"}, "actor_id"),
        ({"action": "x" * 65}, "action"),
    ):
        r = await admin.call("GET", "/v1/audit-events", params=params)
        assert r.status_code == 422, (params, r.text)
        assert field in r.text


async def test_only_admin_reads_the_log(
    http: httpx.AsyncClient, staff: Api, finance: Api, live_http: httpx.Client, db: asyncpg.Pool
) -> None:
    for api in (staff, finance):
        assert (await api.call("GET", "/v1/audit-events")).status_code == 403
    # the admin page: facility staff and finance are refused, and the side navigation hides it
    for role in ("facility_staff", "finance"):
        email = await staff_login(db, role)
        assert (await asyncio.to_thread(admin_login, live_http, email)).status_code == 303
        assert (await asyncio.to_thread(live_http.get, "/admin/audit")).status_code == 403
        assert 'href="/admin/audit"' not in (await asyncio.to_thread(live_http.get, "/admin/")).text
        live_http.cookies.clear()


async def test_filters_use_their_indexes(db: asyncpg.Pool, seeded: Seeded) -> None:
    """EXPLAIN of the page's query with a rare value of each filter (the case a backward scan of the
    whole table would serve worst): an index led by the filter's column, never a sequential scan
    (what it sorts is the few matching rows). A common value may scan the primary
    key backwards: it finds its 51 rows at once."""
    await db.execute("ANALYZE audit_events")
    tag = seeded.tag
    cases = {
        "action": ("action = $1", f"test.rare_{tag.lower()}", "ix_audit_events_action_id"),
        "actor": ("actor = $1", f"rare-{tag.lower()}@seatlease-example.com", "ix_audit_events_actor_label_id"),
        "object": ("object_type = 'rare' AND object_id = $1", f"rare-{tag}", "ix_audit_events_object_type_id"),
    }
    for name, (where, value, index) in cases.items():
        plan = "\n".join(
            r[0] for r in await db.fetch(f"EXPLAIN SELECT * FROM audit_events WHERE {where} ORDER BY id DESC LIMIT 51", value)
        )
        assert index in plan, (name, plan)
        assert "Seq Scan" not in plan, (name, plan)


async def test_the_audit_page_filters_pages_and_diffs(page: Page, db: asyncpg.Pool, seeded: Seeded, staff: Api) -> None:
    s = seeded
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2033-03-01"))
    await login(page, await staff_login(db, "admin"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.click("nav >> text=Audit")
    await page.wait_for_url(re.compile(r".*/admin/audit$"))

    # by actor over two days: 144 events a day, one every 10 minutes, a third of them by this actor
    await page.fill("#f-actor", s.actors[2])
    await page.fill("#f-since", s.day0.date().isoformat())
    await page.fill("#f-until", (s.day0 + timedelta(days=1)).date().isoformat())
    await page.click("#audit-filter-btn")
    rows = page.locator("#audit-table tbody tr[data-event-id]")
    await page.locator("#audit-older").wait_for()
    assert await rows.count() == 50
    assert await page.input_value("#f-actor") == s.actors[2]  # the filters stay filled
    first_ids = [int(await r.get_attribute("data-event-id") or 0) for r in await rows.all()]
    assert first_ids == sorted(first_ids, reverse=True)
    # the newest of them is i = 287 (i % 3 == 2): seat_count 287 -> 288, status confirmed -> active, a note added
    newest = rows.nth(0).locator("table.diff")
    assert await newest.locator("tr.diff-changed th").all_inner_texts() == ["status", "seat_count"]
    assert await newest.locator("tr.diff-changed del").all_inner_texts() == ["confirmed", "287"]
    assert await newest.locator("tr.diff-changed ins").all_inner_texts() == ["active", "288"]
    assert await newest.locator("tr.diff-added th").all_inner_texts() == ["note"]
    # the next, i = 284: its status did not change, so it is not listed
    assert await rows.nth(1).locator("table.diff th").all_inner_texts() == ["seat_count", "note"]
    await shot(page, "audit-by-actor")
    await page.click("#audit-older")
    await page.locator("#audit-newest").wait_for()
    assert await rows.count() == 96 - 50
    second_ids = [int(await r.get_attribute("data-event-id") or 0) for r in await rows.all()]
    assert max(second_ids) < min(first_ids)
    assert await page.locator("#audit-older").count() == 0
    assert await page.input_value("#f-actor") == s.actors[2]

    # by action: a click on an event's action filters by it alone
    await page.goto(f"/admin/audit?action={s.action}")
    assert await rows.count() == 50
    actions = {await a.inner_text() for a in await page.locator("#audit-table .audit-action").all()}
    assert actions == {s.action}

    # by object, from the object's own page: the lease's trail shows its creation, every field added
    await page.goto(f"/admin/leases/{lease['id']}")
    await page.click("#audit-trail")
    await page.wait_for_url(re.compile(r".*/admin/audit\?object_type=lease&object_id="))
    assert await page.input_value("#f-object_id") == lease["id"]
    assert await rows.count() >= 1
    assert await page.locator("#audit-table .audit-action").last.inner_text() == "lease.create"
    created = page.locator("#audit-table tbody tr[data-event-id]").last
    assert "(created)" in await created.inner_text()
    assert "pending_approval" in await created.inner_text() or "confirmed" in await created.inner_text()
    await shot(page, "audit-lease-trail")

    # the client's and an object type's trail
    await page.goto(f"/admin/clients/{w.client['id']}")
    await page.click("#audit-trail")
    assert "client.create" in await page.locator("#audit-table").inner_text()

    # a bad date is named next to its field, the others keep their values
    await page.goto(f"/admin/audit?actor={s.actors[0]}&since=2001-13-01")
    assert "not a date" in await page.locator("#since-error").inner_text()
    assert await page.input_value("#f-actor") == s.actors[0]
