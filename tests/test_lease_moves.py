"""Seat moves and floor moves through the API (issue 11): one amendment, the exclusion constraint
decides under concurrency (moves and bookings racing for one seat: exactly one wins), bad input is
problem+json naming the field, clients move only their own agents and never into the past."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from tests.factories import Api, ClientLogin, World, lease_body, make_world
from tests.provisioning.helpers import site_today


def _problem(r: httpx.Response, status: int, field: str | None = None, suffix: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if field is not None:
        assert body.get("field") == field or field in str(body), body
    if suffix is not None:
        assert body["type"].endswith(suffix), body
    return body


async def _live_rows(db: asyncpg.Pool, lease_id: str) -> set[tuple[str, Any, Any]]:
    return {
        (r["seat_id"], r["start_date"], r["end_date"])
        for r in await db.fetch(
            "SELECT seat_id::text, start_date, end_date FROM lease_seats WHERE lease_id = $1 AND NOT voided", uuid.UUID(lease_id)
        )
    }


def _free_seat(w: World, taken: set[str], floor: int = 0) -> str:
    return next(s["id"] for s in w.seats if s["id"] not in taken and s["floor_id"] == w.floors[floor]["id"])


async def test_concurrent_moves_and_bookings_onto_one_seat_exactly_one_wins(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    leases = [
        await staff.post("/v1/leases", lease_body(w, start_date="2032-01-01", end_date="2032-12-31", seat_count=1))
        for _ in range(4)
    ]
    held = {lease["seats"][0]["id"] for lease in leases}
    target = _free_seat(w, held)
    moves = [
        staff.call(
            "POST",
            f"/v1/leases/{lease['id']}/seat-moves",
            json={"seat_id": lease["seats"][0]["id"], "to_seat_id": target, "effective": "2032-03-01"},
        )
        for lease in leases
    ]
    bookings = [
        staff.call(
            "POST",
            "/v1/leases",
            json=lease_body(w, start_date="2032-03-01", end_date="2032-03-31", seat_ids=[target], seat_count=None),
        )
        for _ in range(2)
    ]
    answers = await asyncio.gather(*moves, *bookings)

    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409, 409, 409], [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            _problem(r, 409, suffix="seats-unavailable")
    holders = await db.fetch("SELECT lease_id FROM lease_seats WHERE seat_id = $1 AND NOT voided", uuid.UUID(target))
    assert len(holders) == 1
    # the losing moves changed nothing: their seats are held as before, no amendment was recorded
    for lease, r in zip(leases, answers[:4], strict=True):
        rows = await _live_rows(db, lease["id"])
        if r.status_code == 409:
            assert rows == {(lease["seats"][0]["id"], lease_start(lease), lease_end(lease))}
            assert (
                await db.fetchval(
                    "SELECT count(*) FROM lease_amendments WHERE lease_id = $1 AND kind = 'seat_moved'", uuid.UUID(lease["id"])
                )
                == 0
            )
        else:
            start, end = lease_start(lease), lease_end(lease)
            assert rows == {
                (lease["seats"][0]["id"], start, start.replace(month=2, day=29)),
                (target, start.replace(month=3), end),
            }


def lease_start(lease: dict[str, Any]) -> date:
    return date.fromisoformat(lease["start_date"])


def lease_end(lease: dict[str, Any]) -> date | None:
    return date.fromisoformat(lease["end_date"]) if lease["end_date"] else None


async def test_seat_move_is_one_amendment_and_answers_clear_errors(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    other = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, start_date="2032-01-01", seat_count=2))
    a, b = (s["id"] for s in lease["seats"])
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=[{"seat_id": a, "member_id": w.members[0]["id"]}])
    free = _free_seat(w, {a, b})
    url = f"/v1/leases/{lease['id']}/seat-moves"

    def move(**kw: Any) -> Any:
        return staff.call("POST", url, json={"seat_id": a, "to_seat_id": free, "effective": "2032-02-10", **kw})

    _problem(await move(to_seat_id=other.seats[0]["id"]), 422, "to_seat_id")
    _problem(await move(to_seat_id=b), 409, suffix="seats-unavailable")  # its own other seat
    _problem(await move(to_seat_id=a), 422, "to_seat_id")
    _problem(await move(effective="2031-12-31"), 422, "effective")
    _problem(await move(seat_id=free), 422, "seat_id")
    _problem(
        await staff.call("POST", url, json={"member_id": w.members[1]["id"], "to_seat_id": free, "effective": "2032-02-10"}),
        422,
        "member_id",
    )
    _problem(await staff.call("POST", url, json={"to_seat_id": free, "effective": "2032-02-10"}), 422, "seat_id")
    _problem(await move(effective="2032-02-30"), 422, "effective")
    maintenance = _free_seat(w, {a, b, free})
    await staff.call("PATCH", f"/v1/seats/{maintenance}", 200, json={"status": "maintenance"})
    _problem(await move(to_seat_id=maintenance), 409, suffix="seats-unavailable")
    assert await _live_rows(db, lease["id"]) == {(a, lease_start(lease), None), (b, lease_start(lease), None)}

    done = await move()
    assert done.status_code == 201, done.text
    moved = done.json()
    assert moved["member_id"] == w.members[0]["id"]
    assert moved["to_seat_id"] == free
    amendment = await db.fetchrow(
        "SELECT kind, effective_date, details FROM lease_amendments WHERE id = $1", uuid.UUID(moved["amendment_id"])
    )
    assert amendment["kind"] == "seat_moved"
    assert str(amendment["effective_date"]) == "2032-02-10"
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'lease.seat_moved'", lease["id"])
        == 1
    )
    # the agent is assigned to the new seat; the lease shows both seats' periods
    assert await staff.get(f"/v1/leases/{lease['id']}/assignments") == [{"seat_id": free, "member_id": w.members[0]["id"]}]
    view = await staff.get(f"/v1/leases/{lease['id']}")
    periods = {(p["seat_id"], p["start_date"], p["end_date"]) for p in view["seat_periods"]}
    assert (a, "2032-01-01", "2032-02-09") in periods
    assert (free, "2032-02-10", None) in periods
    listed = await staff.get(f"/v1/leases/{lease['id']}/seat-moves")
    assert [m["id"] for m in listed["items"]] == [moved["id"]]
    # a seat's moves go forward in time: not again before its move's date, but after it
    nxt = _free_seat(w, {a, b, free, maintenance})
    again = await staff.call("POST", url, json={"seat_id": free, "to_seat_id": nxt, "effective": "2032-02-05"})
    _problem(again, 409, suffix="move-pending")
    again = await staff.call("POST", url, json={"seat_id": free, "to_seat_id": nxt, "effective": "2032-03-01"})
    assert again.status_code == 201, again.text
    assert await staff.get(f"/v1/leases/{lease['id']}/assignments") == [{"seat_id": nxt, "member_id": w.members[0]["id"]}]
    # the old seat is free again from the move's date
    avail = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2032-02-10", "end": "2032-02-20"}
    )
    assert a in {s["id"] for s in avail["seats"]}
    assert free not in {s["id"] for s in avail["seats"]}


async def test_client_admin_moves_its_own_agents_only_and_not_into_the_past(
    staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    stranger = await make_world(staff)
    today = site_today()
    lease = await staff.post("/v1/leases", lease_body(w, start_date=(today - timedelta(days=5)).isoformat(), seat_count=1))
    seat = lease["seats"][0]["id"]
    free = _free_seat(w, {seat})
    mine = await client_login(w.client["id"])
    viewer = await client_login(w.client["id"], "client_viewer")
    theirs = await client_login(stranger.client["id"])
    url = f"/v1/leases/{lease['id']}/seat-moves"
    body = {"seat_id": seat, "to_seat_id": free, "effective": (today + timedelta(days=3)).isoformat()}

    _problem(await theirs.call("POST", url, json=body), 404)
    _problem(await theirs.call("GET", url), 404)
    assert (await viewer.call("POST", url, json=body)).status_code == 403
    _problem(await mine.call("POST", url, json={**body, "effective": (today - timedelta(days=1)).isoformat()}), 422, "effective")
    floor = {"floor_id": w.floors[0]["id"], "effective": body["effective"]}
    assert (await mine.call("POST", f"/v1/leases/{lease['id']}/floor-moves", json=floor)).status_code == 403
    r = await mine.call("POST", url, json=body)
    assert r.status_code == 201, r.text
    assert (await viewer.get(url))["items"][0]["to_seat_id"] == free


async def test_a_lease_moves_floors_and_agents_keep_their_relative_places(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, floors=2)
    lease = await staff.post("/v1/leases", lease_body(w, start_date="2032-01-01", end_date="2032-12-31", seat_count=3))
    seat_floor = {s["id"]: s["floor_id"] for s in w.seats}
    label = {s["id"]: s["label"] for s in w.seats}
    held = sorted((s["id"] for s in lease["seats"]), key=label.__getitem__)
    here = seat_floor[held[0]]
    there = next(f["id"] for f in w.floors if f["id"] != here)
    pairs = [{"seat_id": s, "member_id": m["id"]} for s, m in zip(held, w.members, strict=True)]
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=pairs)
    url = f"/v1/leases/{lease['id']}/floor-moves"

    _problem(await staff.call("POST", url, json={"floor_id": here, "effective": "2032-04-01"}), 422, "floor_id")
    _problem(await staff.call("POST", url, json={"floor_id": str(uuid.uuid4()), "effective": "2032-04-01"}), 422, "floor_id")
    on_there = [s["id"] for s in w.seats if s["floor_id"] == there]
    _problem(
        await staff.call("POST", url, json={"floor_id": there, "seat_ids": on_there[:2], "effective": "2032-04-01"}),
        422,
        "seat_ids",
    )
    _problem(
        await staff.call("POST", url, json={"floor_id": there, "seat_ids": [*on_there[:2], held[0]], "effective": "2032-04-01"}),
        422,
        "seat_ids",
    )

    r = await staff.call("POST", url, json={"floor_id": there, "effective": "2032-04-01"})
    assert r.status_code == 201, r.text
    moves = r.json()["items"]
    assert len(moves) == 3
    assert all(seat_floor[m["to_seat_id"]] == there for m in moves)
    assert (
        await db.fetchval("SELECT count(DISTINCT amendment_id) FROM lease_seat_moves WHERE lease_id = $1", uuid.UUID(lease["id"]))
        == 1
    )
    # relative places kept: the agents sit in the same label order on the new floor
    after = {a["member_id"]: a["seat_id"] for a in await staff.get(f"/v1/leases/{lease['id']}/assignments")}
    new_order = [after[m["id"]] for m in w.members]
    assert new_order == sorted(new_order, key=label.__getitem__)
    assert {m["from_seat_id"]: m["to_seat_id"] for m in moves} == dict(zip(held, new_order, strict=True))
    rows = await _live_rows(db, lease["id"])
    assert len(rows) == 6
    assert sum(1 for r_ in rows if r_[2] is not None and str(r_[2]) == "2032-03-31") == 3
    # a floor without room for the whole lease: 409, and nothing moves
    big = await staff.post("/v1/leases", lease_body(w, start_date="2032-01-01", end_date="2032-12-31", seat_count=18))
    before = await _live_rows(db, big["id"])
    r = await staff.call("POST", f"/v1/leases/{big['id']}/floor-moves", json={"floor_id": there, "effective": "2032-05-01"})
    _problem(r, 409, suffix="seats-unavailable")
    assert await _live_rows(db, big["id"]) == before


async def test_a_pending_move_counts_once_against_the_clients_seat_cap(staff: Api, client_login: ClientLogin) -> None:
    """Until a move's date the lease holds both rows; the client still holds one seat, not two."""
    w = await make_world(staff)
    await staff.call("PATCH", f"/v1/clients/{w.client['id']}", 200, json={"seat_cap": 3})
    mine = await client_login(w.client["id"])
    today = site_today()
    start = (today + timedelta(days=2)).isoformat()
    lease = await mine.post("/v1/leases", lease_body(w, start_date=start, seat_count=2))
    held = {s["id"] for s in lease["seats"]}
    move = {"seat_id": sorted(held)[0], "to_seat_id": _free_seat(w, held), "effective": (today + timedelta(days=9)).isoformat()}
    await mine.post(f"/v1/leases/{lease['id']}/seat-moves", move)
    # 2 seats held (one of them moving): one more fits the cap of 3, a second does not
    await mine.post("/v1/leases", lease_body(w, start_date=start, seat_count=1))
    r = await mine.call("POST", "/v1/leases", json=lease_body(w, start_date=start, seat_count=1))
    _problem(r, 409, suffix="seat-cap-exceeded")
