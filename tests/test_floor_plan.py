"""The floor plan's use-cases through the API (issue 13): blocks of seats with generated labels,
the layout, zones, maintenance and retiring, each audited; and the seat map drawing seats where
they are saved."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import asyncpg
import httpx

from domain.leasing.floor_plan import block_labels
from tests.factories import Api, lease_body, make_world, uniq


def _problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    if field is not None:
        assert body.get("field") == field or field in json.dumps(body.get("errors", "")), body
    return body


def test_block_labels_are_numbered_and_padded() -> None:
    assert block_labels("A-", 1, 12, 2) == [f"A-{n:02d}" for n in range(1, 13)]
    assert block_labels("R", 98, 3, 2) == ["R098", "R099", "R100"]  # widened so that they sort as numbered
    assert block_labels("B-", 0, 2, 1) == ["B-0", "B-1"]


async def test_a_block_gets_generated_labels_below_the_floor_and_a_clash_names_the_label(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    floor = w.floors[0]["id"]
    prefix = uniq("R") + "-"
    made = (await staff.post(f"/v1/floors/{floor}/seat-blocks", {"zone": "B", "prefix": prefix, "rows": 2, "columns": 3}))[
        "items"
    ]
    assert [s["label"] for s in made] == [f"{prefix}0{n}" for n in range(1, 7)]
    old_rows = {s["y"] for s in w.seats}
    # laid out row by row, below the floor's seats, a row left free for the zone's name
    assert [(s["x"], s["y"]) for s in made] == [(x, max(old_rows) + 2 + y) for y in range(2) for x in range(3)]
    assert {s["zone"] for s in made} == {"B"}
    # one of the labels exists: refused by name, nothing written
    r = await staff.call(
        "POST", f"/v1/floors/{floor}/seat-blocks", json={"zone": "B", "prefix": prefix, "start": 5, "columns": 4, "x": 20, "y": 0}
    )
    assert f"{prefix}05" in _problem(r, 409, "prefix")["detail"]
    assert await db.fetchval("SELECT count(*) FROM seats WHERE label = $1", f"{prefix}07") == 0
    # a block on top of existing seats is refused too, naming both
    r = await staff.call(
        "POST", f"/v1/floors/{floor}/seat-blocks", json={"zone": "B", "prefix": uniq("Q"), "columns": 2, "x": 0, "y": 0}
    )
    assert w.seats[0]["label"] in _problem(r, 409)["detail"]
    # too big, and a bad prefix: named fields
    _problem(
        await staff.call("POST", f"/v1/floors/{floor}/seat-blocks", json={"zone": "B", "prefix": "X", "rows": 1, "columns": 51}),
        422,
        "columns",
    )
    _problem(
        await staff.call("POST", f"/v1/floors/{floor}/seat-blocks", json={"zone": "B", "prefix": "<s>", "columns": 1}),
        422,
        "prefix",
    )
    events = await db.fetch("SELECT after FROM audit_events WHERE object_id = $1 AND action = 'floor.seats_add'", floor)
    assert len(events) == 1


async def test_new_zones_never_overlap_and_the_map_draws_seats_where_saved(
    staff: Api, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    w = await make_world(staff, zones=3, seats_per_zone=5)
    cells = [(s["x"], s["y"]) for s in w.seats]
    assert len(set(cells)) == len(cells)  # zones placed one below another, never on each other


async def test_the_layout_moves_seats_in_one_request_refuses_overlaps_and_is_audited(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4, floors=2)
    floor = w.floors[0]["id"]
    a, b = (s for s in w.seats if s["floor_id"] == floor and s["label"].endswith(("001", "002")))
    r = await staff.call(
        "PUT",
        f"/v1/floors/{floor}/layout",
        200,
        json={"seats": [{"id": a["id"], "x": 7, "y": 5}, {"id": b["id"], "x": 8, "y": 5}]},
    )
    assert {(s["label"], s["x"], s["y"]) for s in r.json()["items"]} == {(a["label"], 7, 5), (b["label"], 8, 5)}
    seats = {s["id"]: s for s in (await staff.get(f"/v1/sites/{w.site['id']}/seats", params={"floor_id": floor}))["items"]}
    assert (seats[a["id"]]["x"], seats[a["id"]]["y"]) == (7, 5)
    # two seats on one cell: refused, naming both; nothing moved
    r = await staff.call("PUT", f"/v1/floors/{floor}/layout", json={"seats": [{"id": b["id"], "x": 7, "y": 5}]})
    detail = _problem(r, 409)["detail"]
    assert a["label"] in detail
    assert b["label"] in detail
    # swapping two seats in one request is fine
    await staff.call(
        "PUT",
        f"/v1/floors/{floor}/layout",
        200,
        json={"seats": [{"id": a["id"], "x": 8, "y": 5}, {"id": b["id"], "x": 7, "y": 5}]},
    )
    # a seat of another floor is named by its place in the list
    other = next(s for s in w.seats if s["floor_id"] != floor)
    _problem(
        await staff.call("PUT", f"/v1/floors/{floor}/layout", json={"seats": [{"id": other["id"], "x": 1, "y": 9}]}),
        422,
        "seats[0]",
    )
    _problem(await staff.call("PUT", f"/v1/floors/{floor}/layout", json={"seats": [{"id": a["id"], "x": -1, "y": 0}]}), 422)
    # PATCH one seat onto another: refused the same way
    _problem(await staff.call("PATCH", f"/v1/seats/{a['id']}", json={"x": 7, "y": 5}), 409)
    before, after = await db.fetchrow(
        "SELECT before, after FROM audit_events WHERE object_id = $1 AND action = 'floor.layout' ORDER BY id DESC LIMIT 1", floor
    )
    assert json.loads(after)[a["label"]] == [8, 5]
    assert json.loads(before)[a["label"]] == [7, 5]


async def test_zone_maintenance_and_retire_of_chosen_seats(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=6)
    floor, site = w.floors[0]["id"], w.site["id"]
    ids = [s["id"] for s in w.seats]
    r = await staff.call("POST", f"/v1/floors/{floor}/seats/zone", 200, json={"seat_ids": ids[:2], "zone": "QUIET"})
    assert {s["zone"] for s in r.json()["items"]} == {"QUIET"}
    _problem(
        await staff.call("POST", f"/v1/floors/{floor}/seats/zone", json={"seat_ids": ids[:1], "zone": "no spaces"}), 422, "zone"
    )
    await staff.call("POST", f"/v1/floors/{floor}/seats/status", 200, json={"seat_ids": [ids[2]], "status": "maintenance"})
    avail = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "DAY", "start": "2031-01-01", "seats": 100})
    assert ids[2] not in {s["id"] for s in avail["seats"]}
    _problem(
        await staff.call("POST", f"/v1/floors/{floor}/seats/status", json={"seat_ids": [ids[2]], "status": "retired"}),
        422,
        "status",
    )
    # a seat leased in the future cannot be retired: the error names it; nor through PATCH
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=None, seat_ids=[ids[3]], start_date="2031-05-01"))
    label = next(s["label"] for s in w.seats if s["id"] == ids[3])
    r = await staff.call("POST", f"/v1/floors/{floor}/seats/retire", json={"seat_ids": [ids[4], ids[3]]})
    assert label in _problem(r, 409, "seat_ids")["detail"]
    assert await db.fetchval("SELECT status FROM seats WHERE id = $1::uuid", ids[4]) == "active"  # nothing retired
    _problem(await staff.call("PATCH", f"/v1/seats/{ids[3]}", json={"status": "retired"}), 409, "status")
    # once the lease is cancelled the seat can go
    await staff.call("POST", f"/v1/leases/{lease['id']}/cancel", 200, json={"reason": "floor redone"})
    r = await staff.call("POST", f"/v1/floors/{floor}/seats/retire", 200, json={"seat_ids": [ids[4], ids[3]]})
    assert {s["status"] for s in r.json()["items"]} == {"retired"}
    # retired stays retired: neither back in service nor into maintenance
    _problem(await staff.call("POST", f"/v1/floors/{floor}/seats/status", json={"seat_ids": [ids[3]], "status": "active"}), 409)
    _problem(await staff.call("PATCH", f"/v1/seats/{ids[3]}", json={"status": "active"}), 409, "status")
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 ORDER BY id", floor)]
    assert {"floor.zone", "floor.status", "floor.retire"} <= set(actions)


async def test_a_retire_and_a_booking_of_the_same_seat_at_once_never_both_win(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=3)
    floor = w.floors[0]["id"]
    for seat in w.seats:
        book = staff.call(
            "POST", "/v1/leases", json=lease_body(w, seat_count=None, seat_ids=[seat["id"]], start_date="2031-06-01")
        )
        retire = staff.call("POST", f"/v1/floors/{floor}/seats/retire", json={"seat_ids": [seat["id"]]})
        booked, retired = await asyncio.gather(book, retire)
        assert (booked.status_code == 201) != (retired.status_code == 200), (booked.text, retired.text)
        held = await db.fetchval(
            "SELECT count(*) FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id"
            " WHERE ls.seat_id = $1::uuid AND NOT ls.voided AND l.status <> 'cancelled'",
            seat["id"],
        )
        status = await db.fetchval("SELECT status FROM seats WHERE id = $1::uuid", seat["id"])
        assert not (held and status == "retired")


async def test_client_roles_cannot_edit_a_floor(staff: Api, client_login: Any) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    client = await client_login(w.client["id"])
    r = await client.call(
        "PUT", f"/v1/floors/{w.floors[0]['id']}/layout", json={"seats": [{"id": w.seats[0]["id"], "x": 5, "y": 5}]}
    )
    assert r.status_code == 403
    assert re.search(r"admin|facility", r.text) or r.status_code == 403


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour, made here (zlib and CRCs as the format wants)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xee\xf2\xf8" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_picture_kind_reads_the_bytes() -> None:
    from domain.rules.images import picture_kind

    assert picture_kind(png(120, 80)) == ("image/png", 120, 80)
    # a JPEG's size is in its frame header, after other segments
    jpeg = (
        b"\xff\xd8" + b"\xff\xe0\x00\x10" + b"JFIF\x00" + b"\x00" * 9 + b"\xff\xc0\x00\x11\x08\x00\x40\x00\x80\x03" + b"\x00" * 9
    )
    assert picture_kind(jpeg) == ("image/jpeg", 128, 64)
    for other in (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', b"GIF89a", b"\x89PNG", b""):
        assert picture_kind(other) is None


async def test_a_plan_drawing_is_a_png_or_jpeg_drawn_under_the_seats(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    floor = w.floors[0]["id"]
    path = f"/v1/floors/{floor}/plan-image"
    picture = png(400, 240)
    await staff.call("PUT", path, 204, content=picture, headers={"Content-Type": "image/png"}, params={"width_cells": 20})
    r = await staff.call("GET", path, 200)
    assert r.content == picture
    assert r.headers["content-type"] == "image/png"
    # an SVG is refused whatever it claims to be, and so is anything too big; the drawing stays
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    _problem(await staff.call("PUT", path, content=svg, headers={"Content-Type": "image/png"}), 422, "image")
    big = picture + b"\x00" * (2 * 1024 * 1024)
    _problem(await staff.call("PUT", path, content=big, headers={"Content-Type": "image/png"}), 422, "image")
    assert (await staff.call("GET", path, 200)).content == picture
    info = await db.fetchrow("SELECT width_px, height_px, width_cells FROM floor_images WHERE floor_id = $1::uuid", floor)
    assert tuple(info) == (400, 240, 20)
    await staff.call("DELETE", path, 204)
    _problem(await staff.call("GET", path), 404)
    actions = {r["action"] for r in await db.fetch("SELECT action FROM audit_events WHERE object_id = $1", floor)}
    assert {"floor.plan_image", "floor.plan_image_removed"} <= actions


async def test_two_drops_on_one_cell_at_once_leave_one_seat_there(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=8)
    floor = w.floors[0]["id"]
    for cell in range(4):
        a, b = w.seats[2 * cell], w.seats[2 * cell + 1]
        moves = [
            staff.call("PUT", f"/v1/floors/{floor}/layout", json={"seats": [{"id": s["id"], "x": 30 + cell, "y": 30}]})
            for s in (a, b)
        ]
        answers = sorted(r.status_code for r in await asyncio.gather(*moves))
        assert answers == [200, 409]
        assert (
            await db.fetchval("SELECT count(*) FROM seats WHERE floor_id = $1::uuid AND x = $2 AND y = 30", floor, 30 + cell) == 1
        )
