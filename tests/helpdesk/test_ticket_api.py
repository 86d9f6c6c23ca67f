"""Tickets through the API: who raises what about which seat, the workflow and who moves it, the reopen
window, internal notes hidden from the client, tenants apart, the list's filters and paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import FastAPI

from service.worker import close_resolved_tickets
from tests.factories import Api
from tests.helpdesk.conftest import Desk


async def test_a_client_raises_for_itself_about_its_own_seat_and_the_ticket_knows_site_and_lease(desk: Desk) -> None:
    t = await desk.client.post("/v1/tickets", desk.body(description="  crackles, then nothing  "))
    assert t["client_id"] == desk.w.client["id"]  # a client token's own by default
    assert t["site_id"] == desk.w.site["id"]  # told by the seat
    assert t["lease_id"] == desk.lease["id"]  # the live lease holding the seat
    assert (t["status"], t["priority"], t["category"]) == ("new", "high", "device")
    assert t["description"] == "crackles, then nothing"
    assert t["reference"] == f"T-{t['number']}"
    assert t["raised_via"] == "api"
    assert t["responded_at"] is None
    # the device on the seat, and the agent of the client
    t2 = await desk.client.post("/v1/tickets", desk.body(device_id=desk.device_id, member_id=desk.w.members[0]["id"]))
    assert (t2["device_id"], t2["member_id"], t2["seat_id"]) == (desk.device_id, desk.w.members[0]["id"], desk.seats[0]["id"])
    # the device alone tells its seat
    t3 = await desk.client.post("/v1/tickets", {"category": "device", "subject": "PC", "device_id": desk.device_id})
    assert t3["seat_id"] == desk.seats[0]["id"]
    assert t3["priority"] == "normal"


async def test_a_wrong_reference_is_a_422_naming_it_and_another_tenants_a_404(desk: Desk, staff: Api) -> None:
    async def refused(body: dict[str, object], status: int, field: str | None = None) -> None:
        r = await desk.client.call("POST", "/v1/tickets", status, json=body)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["field"] == field, r.text

    await refused(desk.body(seat_id=desk.free_seat["id"]), 422, "seat_id")  # a seat it does not lease
    await refused(desk.body(seat_id=desk.other_seat["id"]), 422, "seat_id")  # another's seat: not its own
    await refused(desk.body(seat_id=str(uuid.uuid4())), 422, "seat_id")
    await refused(desk.body(seat_id=desk.seats[1]["id"], device_id=desk.device_id), 422, "device_id")  # not on this seat
    await refused(desk.body(lease_id=desk.other_lease["id"]), 404)  # another tenant's lease does not exist
    await refused(desk.body(client_id=desk.other_client_id), 404)
    other_team = (await staff.get(f"/v1/clients/{desk.other_client_id}/teams"))["items"][0]
    other_member = await staff.post(f"/v1/teams/{other_team['id']}/members", {"name": "X", "email": "x@other-example.com"})
    await refused(desk.body(member_id=other_member["id"]), 404)
    await refused({"category": "it", "subject": "no site"}, 422, "site_id")
    await refused(desk.body(occurred_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()), 422, "occurred_at")
    await refused(desk.body(category="plumbing"), 422, "category")
    await refused(desk.body(subject="   "), 422, "subject")
    # a viewer reads, it does not raise
    await desk.viewer.call("POST", "/v1/tickets", 403, json=desk.body())
    # staff: for the facility itself (no client), or for the client with the same checks
    own = await staff.post("/v1/tickets", {"category": "power", "subject": "UPS beeping", "site_id": desk.w.site["id"]})
    assert own["client_id"] is None
    r = await staff.call("POST", "/v1/tickets", 422, json=desk.body(client_id=desk.w.client["id"], seat_id=desk.other_seat["id"]))
    assert r.json()["field"] == "seat_id"
    for_client = await staff.post("/v1/tickets", desk.body(client_id=desk.w.client["id"]))
    assert for_client["raised_via"] == "api"
    assert for_client["client_id"] == desk.w.client["id"]


async def test_the_workflow_who_moves_it_and_the_reopen_window(desk: Desk, staff: Api, db: asyncpg.Pool) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    path = f"/v1/tickets/{t['id']}"

    async def move(api: Api, to: str, expect: int = 200, **kw: str) -> dict[str, object]:
        return (await api.call("POST", f"{path}/status", expect, json={"status": to, **kw})).json()  # type: ignore[no-any-return]

    # a client does not move its ticket along: that is the facility's work
    assert (await move(desk.client, "in_progress", 403))["field"] == "status"
    assert (await move(staff, "closed", 409))["field"] == "status"  # new → closed: no such move
    ack = await move(staff, "acknowledged")
    assert ack["responded_at"] is not None  # the first answer the client sees
    await move(staff, "waiting_on_client")
    # the client's answer moves it back to in progress
    await desk.client.post(f"{path}/comments", {"body": "It is seat 12, the left ear"})
    assert (await staff.get(path))["status"] == "in_progress"
    assert (await move(staff, "resolved", 422))["field"] == "resolution"
    done = await move(staff, "resolved", resolution="Headset swapped")
    assert done["resolution"] == "Headset swapped"
    assert done["reopen_until"] is not None
    # the client reopens within the window: counted
    back = await move(desk.client, "in_progress")
    assert (back["reopened_count"], back["resolved_at"], back["resolution"]) == (1, None, "")
    await move(staff, "resolved", resolution="Cable replaced")
    # eight days later the window has passed: no reopen; confirming is still the client's
    await db.execute("UPDATE tickets SET resolved_at = now() - interval '8 days' WHERE id = $1", uuid.UUID(t["id"]))
    assert (await move(desk.client, "in_progress", 409))["field"] == "status"
    closed = await move(desk.client, "closed")
    assert closed["closed_at"] is not None
    r = await desk.client.call("POST", f"{path}/comments", 409, json={"body": "one more thing"})
    assert r.json()["field"] == "status"
    events = await desk.client.get(f"{path}/events")
    assert [(e["kind"], e["to_status"]) for e in events["items"]] == [
        ("raised", "new"),
        ("status", "acknowledged"),
        ("status", "waiting_on_client"),
        ("comment", None),
        ("status", "in_progress"),
        ("status", "resolved"),
        ("status", "in_progress"),
        ("status", "resolved"),
        ("status", "closed"),
    ]
    audit = await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 ORDER BY id", t["id"])
    assert [a["action"] for a in audit].count("ticket.status") == 7


async def test_resolved_tickets_close_themselves_after_the_window(desk: Desk, staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    old = await staff.post("/v1/tickets", desk.body(client_id=desk.w.client["id"]))
    fresh = await staff.post("/v1/tickets", desk.body(client_id=desk.w.client["id"]))
    for t in (old, fresh):
        await staff.post(f"/v1/tickets/{t['id']}/status", {"status": "resolved", "resolution": "fixed"}, expect=200)
    await db.execute("UPDATE tickets SET resolved_at = now() - interval '7 days 1 minute' WHERE id = $1", uuid.UUID(old["id"]))
    report = await close_resolved_tickets(app.state.sessionmaker, app.state.settings)
    assert report["tickets_closed"] >= 1
    assert (await staff.get(f"/v1/tickets/{old['id']}"))["status"] == "closed"
    assert (await staff.get(f"/v1/tickets/{fresh['id']}"))["status"] == "resolved"
    last = (await desk.client.get(f"/v1/tickets/{old['id']}/events"))["items"][-1]
    assert (last["kind"], last["to_status"], last["actor"], last["data"]) == (
        "status",
        "closed",
        "ticket-auto-close",
        {"automatic": True},
    )


async def test_internal_notes_assignments_and_staff_only_changes_stay_with_the_staff(
    desk: Desk, staff: Api, db: asyncpg.Pool
) -> None:
    t = await desk.client.post("/v1/tickets", desk.body())
    path = f"/v1/tickets/{t['id']}"
    await staff.post(f"{path}/comments", {"body": "vendor RMA 4411, do not tell", "internal": True})
    assert (await staff.get(path))["responded_at"] is None  # a note is no answer to the client
    assignee = str(await db.fetchval("SELECT id FROM users WHERE role = 'facility_staff' AND active ORDER BY created_at LIMIT 1"))
    finance_user = str(await db.fetchval("SELECT id FROM users WHERE role = 'finance' LIMIT 1"))
    assigned = await staff.call("PUT", f"{path}/assignee", 200, json={"assignee_id": assignee})
    assert assigned.json()["assignee_id"] == assignee
    for nobody in (str(uuid.uuid4()), finance_user):
        bad = await staff.call("PUT", f"{path}/assignee", 422, json={"assignee_id": nobody})
        assert bad.json()["field"] == "assignee_id"
    # the client sees none of it
    assert (await desk.client.get(path))["assignee_id"] is None
    assert (await desk.client.get(f"{path}/comments"))["items"] == []
    kinds = [e["kind"] for e in (await desk.client.get(f"{path}/events"))["items"]]
    assert kinds == ["raised"]
    staff_kinds = [e["kind"] for e in (await staff.get(f"{path}/events"))["items"]]
    assert staff_kinds == ["raised", "note", "assigned"]
    assert [c["internal"] for c in (await staff.get(f"{path}/comments"))["items"]] == [True]
    # nor may it write one, assign, or re-classify
    r = await desk.client.call("POST", f"{path}/comments", 403, json={"body": "x", "internal": True})
    assert r.json()["field"] == "internal"
    await desk.client.call("PUT", f"{path}/assignee", 403, json={"assignee_id": None})
    await desk.client.call("PATCH", path, 403, json={"priority": "urgent"})
    # staff re-classify: public
    changed = await staff.call("PATCH", path, 200, json={"priority": "urgent", "category": "network"})
    assert (changed.json()["priority"], changed.json()["category"]) == ("urgent", "network")
    last = (await desk.client.get(f"{path}/events"))["items"][-1]
    assert last["data"] == {"priority": ["high", "urgent"], "category": ["device", "network"]}
    # a public staff comment is the response
    await staff.post(f"{path}/comments", {"body": "On our way"})
    assert (await desk.client.get(path))["responded_at"] is not None


async def test_tenants_see_only_their_own_tickets(desk: Desk, staff: Api) -> None:
    mine = await desk.client.post("/v1/tickets", desk.body())
    theirs = await desk.other.post("/v1/tickets", desk.body(seat_id=desk.other_seat["id"]))
    for sub in ("", "/comments", "/attachments", "/events"):
        await desk.client.call("GET", f"/v1/tickets/{theirs['id']}{sub}", 404)
    await desk.client.call("POST", f"/v1/tickets/{theirs['id']}/comments", 404, json={"body": "hi"})
    await desk.client.call("POST", f"/v1/tickets/{theirs['id']}/status", 404, json={"status": "closed"})
    ids = {t["id"] for t in (await desk.client.get("/v1/tickets?limit=500"))["items"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids
    # asking for the other client's list by id gives nothing of theirs either
    other_ids = {t["id"] for t in (await desk.client.get(f"/v1/tickets?client_id={desk.other_client_id}"))["items"]}
    assert theirs["id"] not in other_ids
    assert (await desk.viewer.get(f"/v1/tickets/{mine['id']}"))["id"] == mine["id"]  # a viewer reads
    await desk.viewer.call("POST", f"/v1/tickets/{mine['id']}/comments", 403, json={"body": "x"})


async def test_the_list_filters_and_pages_newest_first(desk: Desk, staff: Api) -> None:
    made = []
    for i in range(5):
        t = await desk.client.post("/v1/tickets", desk.body(category="network" if i % 2 else "device", subject=f"n{i}"))
        made.append(t["id"])
    await staff.post(f"/v1/tickets/{made[0]}/status", {"status": "resolved", "resolution": "ok"}, expect=200)
    seen, cursor = [], None
    while True:
        q = f"/v1/tickets?site_id={desk.w.site['id']}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await desk.client.get(q)
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    net = await desk.client.get(f"/v1/tickets?site_id={desk.w.site['id']}&category=network")
    assert [t["id"] for t in net["items"]] == [made[3], made[1]]
    open_ = await desk.client.get(f"/v1/tickets?site_id={desk.w.site['id']}&state=open")
    assert made[0] not in {t["id"] for t in open_["items"]}
    closed = await desk.client.get(f"/v1/tickets?site_id={desk.w.site['id']}&state=closed")
    assert [t["id"] for t in closed["items"]] == [made[0]]
    by_status = await desk.client.get(f"/v1/tickets?seat_id={desk.seats[0]['id']}&status=new&status=resolved")
    assert len(by_status["items"]) == 5
    assert (await desk.client.call("GET", "/v1/tickets?status=bogus", 422)).json()["field"] == "status.0"  # the first value
