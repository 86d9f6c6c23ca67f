"""Lease lifecycle, approvals, amendments, assignments, audit, occupancy, health and bad input."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.factories import Api, ClientLogin, lease_body, make_world


def _problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def _today(tz: str = "Asia/Manila") -> date:
    return datetime.now(ZoneInfo(tz)).date()


async def _audit(db: asyncpg.Pool, object_id: str) -> list[str]:
    rows = await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 ORDER BY id", object_id)
    return [r["action"] for r in rows]


async def test_discount_above_threshold_waits_for_finance(
    staff: Api, finance: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    at_threshold = await staff.post("/v1/leases", lease_body(w, seat_count=1, discount_pct="10"))
    assert at_threshold["status"] == "confirmed"
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, discount_pct="10.01"))
    assert lease["status"] == "pending_approval"
    assert lease["discount_pct"] == "10.01"
    # its seats are held while it waits
    avail = await staff.get(f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-01-01"})
    assert avail["free_count"] == len(w.seats) - 3

    client = await client_login(w.client["id"])
    _problem(await client.call("POST", f"/v1/leases/{lease['id']}/approve"), 403)
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/approve"), 403)
    assert (await staff.get(f"/v1/leases/{lease['id']}"))["status"] == "pending_approval"
    approved = await finance.post(f"/v1/leases/{lease['id']}/approve", expect=200)
    assert approved["status"] == "confirmed"
    _problem(await finance.call("POST", f"/v1/leases/{lease['id']}/approve"), 409)
    assert await _audit(db, lease["id"]) == ["lease.create", "lease.approve"]
    approver = await db.fetchval("SELECT approved_by FROM leases WHERE id = $1", uuid.UUID(lease["id"]))
    assert approver is not None

    # a client never sets its own discount (rule 7): refused, nothing booked (tests/test_client_limits.py)
    r = await client.call("POST", "/v1/leases", json=lease_body(w, seat_count=1, discount_pct="25", start_date="2031-06-01"))
    assert _problem(r, 403)["field"] == "discount_pct"


async def test_amendments_add_and_release_seats(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=6)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date="2031-01-01", end_date="2031-12-31"))
    first = {s["id"] for s in lease["seats"]}

    added = await staff.post(f"/v1/leases/{lease['id']}/seats", {"seat_count": 1, "effective": "2031-03-01"})
    new = {s["id"] for s in added["seats"]} - first
    assert len(new) == 1
    assert len(added["seats"]) == 3
    (new_id,) = new
    period = next(p for p in added["seat_periods"] if p["seat_id"] == new_id)
    assert (period["start_date"], period["end_date"]) == ("2031-03-01", "2031-12-31")
    # the new seat is free before the amendment takes effect, taken after
    before = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-02-01", "end": "2031-02-28", "seats": 50}
    )
    assert new_id in {s["id"] for s in before["seats"]}
    after = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-03-01", "end": "2031-03-31", "seats": 50}
    )
    assert new_id not in {s["id"] for s in after["seats"]}
    assert after["free_count"] == 3

    chosen = next(s for s in w.seats if s["id"] not in first | new)
    await staff.post(f"/v1/leases/{lease['id']}/seats", {"seat_ids": [chosen["id"]], "effective": "2031-04-01"})
    _problem(
        await staff.call("POST", f"/v1/leases/{lease['id']}/seats", json={"seat_ids": [chosen["id"]], "effective": "2031-05-01"}),
        409,
        "seat_ids",
    )
    _problem(
        await staff.call("POST", f"/v1/leases/{lease['id']}/seats", json={"seat_count": 1, "effective": "2032-01-01"}),
        422,
        "effective",
    )
    _problem(await staff.call("POST", f"/v1/leases/{lease['id']}/seats", json={"effective": "2031-05-01"}), 422, "seat_count")

    released_id = sorted(first)[0]
    released = await staff.call(
        "DELETE", f"/v1/leases/{lease['id']}/seats/{released_id}", 200, params={"effective": "2031-06-01"}
    )
    period = next(p for p in released.json()["seat_periods"] if p["seat_id"] == released_id)
    assert period["end_date"] == "2031-05-31"
    june = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-06-01", "end": "2031-06-30", "seats": 50}
    )
    assert released_id in {s["id"] for s in june["seats"]}
    may = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-05-01", "end": "2031-05-31", "seats": 50}
    )
    assert released_id not in {s["id"] for s in may["seats"]}
    _problem(
        await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{uuid.uuid4()}", params={"effective": "2031-06-01"}), 404
    )
    _problem(await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{released_id}"), 422, "effective")

    kinds = [
        r["kind"]
        for r in await db.fetch(
            "SELECT kind FROM lease_amendments WHERE lease_id = $1 ORDER BY created_at", uuid.UUID(lease["id"])
        )
    ]
    assert kinds == ["seats_added", "seats_added", "seat_released"]
    assert await _audit(db, lease["id"]) == ["lease.create", "lease.seats_added", "lease.seats_added", "lease.seat_released"]


async def test_staff_may_back_date_clients_may_not(staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    today = _today()
    client = await client_login(w.client["id"])
    past = (today - timedelta(days=200)).isoformat()
    _problem(await client.call("POST", "/v1/leases", json=lease_body(w, start_date=past)), 422, "start_date")

    moved_in = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=past))
    assert moved_in["status"] == "active"
    _problem(
        await client.call("POST", f"/v1/leases/{moved_in['id']}/end", json={"end_date": (today - timedelta(days=1)).isoformat()}),
        422,
        "end_date",
    )
    _problem(
        await client.call(
            "POST",
            f"/v1/leases/{moved_in['id']}/seats",
            json={"seat_count": 1, "effective": (today - timedelta(days=1)).isoformat()},
        ),
        422,
        "effective",
    )
    ended = await staff.post(
        f"/v1/leases/{moved_in['id']}/end", {"end_date": (today - timedelta(days=10)).isoformat()}, expect=200
    )
    assert ended["status"] == "ended"
    assert ended["end_date"] == (today - timedelta(days=10)).isoformat()
    _problem(await staff.call("POST", f"/v1/leases/{moved_in['id']}/end", json={"end_date": today.isoformat()}), 409)
    _problem(await staff.call("POST", f"/v1/leases/{moved_in['id']}/cancel"), 409)

    running = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=past))
    notice = (today + timedelta(days=30)).isoformat()
    by_client = await client.post(f"/v1/leases/{running['id']}/end", {"end_date": notice}, expect=200)
    assert by_client["status"] == "active"
    assert by_client["end_date"] == notice
    _problem(
        await staff.call("POST", f"/v1/leases/{running['id']}/end", json={"end_date": (today - timedelta(days=300)).isoformat()}),
        422,
        "end_date",
    )
    _problem(await staff.call("POST", f"/v1/leases/{running['id']}/cancel"), 409)


async def test_end_cannot_extend_over_the_next_lease(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    seat = w.seats[0]["id"]
    body = lease_body(w, seat_ids=[seat], start_date="2031-01-01", end_date="2031-01-31")
    body.pop("seat_count")
    first = await staff.post("/v1/leases", body)
    await staff.post("/v1/leases", {**body, "start_date": "2031-02-01", "end_date": None})
    _problem(await staff.call("POST", f"/v1/leases/{first['id']}/end", json={"end_date": "2031-03-31"}), 409, "end_date")
    shorter = await staff.post(f"/v1/leases/{first['id']}/end", {"end_date": "2031-01-15"}, expect=200)
    assert shorter["end_date"] == "2031-01-15"
    assert shorter["seat_periods"][0]["end_date"] == "2031-01-15"


async def test_cancel_only_before_start(staff: Api, client_login: ClientLogin, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    client = await client_login(w.client["id"])
    lease = await client.post("/v1/leases", lease_body(w, seat_count=4, start_date="2031-01-01"))
    params = {"shift": "DAY", "start": "2031-01-01"}
    assert (await staff.get(f"/v1/sites/{w.site['id']}/availability", params=params))["free_count"] == 0
    cancelled = await client.post(f"/v1/leases/{lease['id']}/cancel", expect=200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["seats"] == []
    assert (await staff.get(f"/v1/sites/{w.site['id']}/availability", params=params))["free_count"] == 4
    _problem(await client.call("POST", f"/v1/leases/{lease['id']}/cancel"), 409)
    _problem(await client.call("POST", f"/v1/leases/{lease['id']}/end", json={"end_date": "2031-02-01"}), 409)
    _problem(await client.call("POST", f"/v1/leases/{lease['id']}/seats", json={"seat_count": 1, "effective": "2031-02-01"}), 409)
    assert await _audit(db, lease["id"]) == ["lease.create", "lease.cancel"]
    listed = await client.get("/v1/leases", params={"status": "cancelled"})
    assert [x["id"] for x in listed["items"]] == [lease["id"]]
    _problem(await client.call("GET", "/v1/leases", params={"status": "bogus"}), 422, "status")


async def test_assignments(staff: Api, client_login: ClientLogin, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    other = await make_world(staff)
    client = await client_login(w.client["id"])
    lease = await client.post("/v1/leases", lease_body(w, seat_count=2))
    s1, s2 = (s["id"] for s in lease["seats"])
    m1, m2, m3 = (m["id"] for m in w.members)
    path = f"/v1/leases/{lease['id']}/assignments"

    r = await client.call("PUT", path, 200, json=[{"seat_id": s1, "member_id": m1}, {"seat_id": s2, "member_id": m2}])
    assert sorted((a["seat_id"], a["member_id"]) for a in r.json()) == sorted([(s1, m1), (s2, m2)])
    assert len(await client.get(path)) == 2

    not_held = next(s["id"] for s in w.seats if s["id"] not in (s1, s2))
    _problem(await client.call("PUT", path, json=[{"seat_id": not_held, "member_id": m1}]), 422, "seat_id")
    _problem(await client.call("PUT", path, json=[{"seat_id": s1, "member_id": other.members[0]["id"]}]), 422, "member_id")
    _problem(
        await client.call("PUT", path, json=[{"seat_id": s1, "member_id": m1}, {"seat_id": s1, "member_id": m2}]), 422, "seat_id"
    )
    _problem(
        await client.call("PUT", path, json=[{"seat_id": s1, "member_id": m1}, {"seat_id": s2, "member_id": m1}]),
        422,
        "member_id",
    )
    _problem(await client.call("PUT", path, json=[{"seat_id": "nope", "member_id": m1}]), 422, "0.seat_id")
    # a failed replacement changed nothing
    assert len(await client.get(path)) == 2

    removed = await client.call("DELETE", f"/v1/members/{m2}", 200)
    assert removed.json()["active"] is False
    assert [a["member_id"] for a in await client.get(path)] == [m1]
    _problem(await client.call("PUT", path, json=[{"seat_id": s2, "member_id": m2}]), 422, "member_id")
    r = await client.call("PUT", path, 200, json=[{"seat_id": s2, "member_id": m3}])
    assert [a["member_id"] for a in r.json()] == [m3]
    assert (await _audit(db, lease["id"])).count("lease.assignments") == 2

    # releasing a seat drops its assignment
    await client.call("DELETE", f"/v1/leases/{lease['id']}/seats/{s2}", 200, params={"effective": "2031-02-01"})
    assert await client.get(path) == []


async def test_audit_events_are_append_only(staff: Api, admin: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    events = await admin.get("/v1/audit-events", params={"object_type": "site", "object_id": w.site["id"]})
    assert [e["action"] for e in events["items"]] == ["site.create"]
    assert events["items"][0]["after"]["code"] == w.site["code"]
    actions = {r["action"] for r in await db.fetch("SELECT action FROM audit_events WHERE at > now() - interval '10 minutes'")}
    assert {
        "site.create",
        "floor.create",
        "seat.create",
        "shift.create",
        "plan.create",
        "client.create",
        "team.create",
        "member.create",
    } <= actions
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE audit_events SET actor = 'someone else' WHERE object_id = $1", w.site["id"])
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM audit_events WHERE object_id = $1", w.site["id"])
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1", w.site["id"]) == 1
    # no secret ever reaches the audit log
    assert await db.fetchval("SELECT count(*) FROM audit_events WHERE after::text ILIKE '%password%'") == 0
    page = await admin.get("/v1/audit-events", params={"limit": 2})
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    nxt = await admin.get("/v1/audit-events", params={"limit": 2, "cursor": page["next_cursor"]})
    assert nxt["items"][0]["id"] < page["items"][-1]["id"]


async def test_occupancy_report(staff: Api, finance: Api) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=5)
    seats = [s["id"] for s in w.seats]
    await staff.call("PATCH", f"/v1/seats/{seats[9]}", 200, json={"status": "maintenance"})

    async def book(shift: str, ids: list[str]) -> None:
        body = lease_body(w, shift=shift, seat_ids=ids, start_date="2031-05-01", end_date="2031-05-31")
        body.pop("seat_count")
        await staff.post("/v1/leases", body)

    await book("DAY", seats[0:3])
    await book("NIGHT", [seats[0], seats[3]])
    await book("FULL", [seats[4]])
    report = await finance.get("/v1/reports/occupancy", params={"site_id": w.site["id"], "date": "2031-05-15"})
    assert report["date"] == "2031-05-15"
    by_shift = {r["shift"]: r for r in report["items"]}
    assert set(by_shift) == {"FULL", "DAY", "NIGHT"}
    assert all(r["seats_total"] == 9 for r in by_shift.values())
    assert {k: r["seats_leased"] for k, r in by_shift.items()} == {"FULL": 5, "DAY": 4, "NIGHT": 3}
    assert by_shift["FULL"]["occupancy_rate"] == round(5 / 9, 4)
    # the night of 05-31 holds its two seats until 06:00 on 06-01: taken for FULL that day, not for DAY or NIGHT
    tail = await staff.get("/v1/reports/occupancy", params={"site_id": w.site["id"], "date": "2031-06-01"})
    assert {r["shift"]: r["seats_leased"] for r in tail["items"]} == {"FULL": 2, "DAY": 0, "NIGHT": 0}
    later = await staff.get("/v1/reports/occupancy", params={"site_id": w.site["id"], "date": "2031-06-02"})
    assert all(r["seats_leased"] == 0 for r in later["items"])
    _problem(await staff.call("GET", "/v1/reports/occupancy", params={"date": "31-05-2031"}), 422, "date")


async def test_healthz(http: httpx.AsyncClient) -> None:
    r = await http.get("/healthz")
    assert r.status_code == 200
    # the workers' part (stale passes, skipped sites) is tested in tests/provisioning/test_liveness.py
    assert r.json()["status"] in ("ok", "degraded")
    assert r.json()["database"] == "ok"


async def test_bad_input_is_a_problem_naming_the_field(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/v1/leases", {k: v for k, v in lease_body(w).items() if k != "shift"}, 422, "shift"),
        ("POST", "/v1/leases", lease_body(w, seat_count=0), 422, "seat_count"),
        ("POST", "/v1/leases", lease_body(w, seat_ids=[w.seats[0]["id"]]), 422, "seat_count"),
        ("POST", "/v1/leases", lease_body(w, end_date="2030-12-31"), 422, "end_date"),
        ("POST", "/v1/leases", lease_body(w, start_date="2031-02-30"), 422, "start_date"),
        ("POST", "/v1/leases", lease_body(w, shift="SWING"), 422, "shift"),
        ("POST", "/v1/leases", lease_body(w, team_id=str(uuid.uuid4())), 422, "team_id"),
        ("POST", "/v1/leases", lease_body(w, discount_pct="100.5"), 422, "discount_pct"),
        ("POST", "/v1/leases", lease_body(w, add_ons=[{"code": "power", "quantity": 1}]), 422, "add_ons"),
        ("POST", "/v1/leases", lease_body(w, add_ons=[{"code": "extra_monitor", "quantity": 0}]), 422, "add_ons.0.quantity"),
        ("POST", "/v1/leases", {**lease_body(w), "surprise": 1}, 422, "surprise"),
        ("POST", "/v1/leases", lease_body(w, seat_count=3), 409, "seat_count"),
        (
            "POST",
            "/v1/sites",
            {"code": "X1", "name": "x", "timezone": "Mars/Olympus", "currency": "PHP", "tax_rate": "0.12"},
            422,
            "timezone",
        ),
        (
            "POST",
            "/v1/sites",
            {"code": "X1", "name": "x", "timezone": "UTC", "currency": "php", "tax_rate": "0.12"},
            422,
            "currency",
        ),
        (
            "POST",
            "/v1/sites",
            {"code": w.site["code"], "name": "x", "timezone": "UTC", "currency": "PHP", "tax_rate": "0.12"},
            409,
            "code",
        ),
        ("POST", f"/v1/sites/{w.site['id']}/shifts", {"code": "EVE", "starts_at": "25:00", "ends_at": "06:00"}, 422, "starts_at"),
        ("POST", f"/v1/sites/{w.site['id']}/shifts", {"code": "EVE", "starts_at": "09:00", "ends_at": "09:00"}, 422, "ends_at"),
        ("POST", f"/v1/sites/{w.site['id']}/seats", {"floor_id": w.floors[0]["id"], "zone": "Z"}, 422, "labels"),
        ("POST", "/v1/plans", {"site_id": w.site["id"], "name": "p", "monthly_price_minor": -1}, 422, "monthly_price_minor"),
        (
            "POST",
            "/v1/plans",
            {
                "site_id": w.site["id"],
                "name": "p",
                "monthly_price_minor": 1,
                "inclusions": [{"code": "a", "name": "a", "kind": "power", "unit_price_minor": 5}],
            },
            422,
            "inclusions.0.unit_price_minor",
        ),
        ("GET", "/v1/leases/not-a-uuid", None, 422, "lease_id"),
        ("GET", f"/v1/sites/{w.site['id']}/availability?shift=DAY&start=2031-01-02&end=2031-01-01", None, 422, "end"),
        ("GET", "/v1/sites?cursor=zzz", None, 422, "cursor"),
    ]
    before = await staff.get("/v1/leases", params={"site_id": w.site["id"]})
    for method, path, body, status, field in cases:
        r = await staff.call(method, path, json=body)
        _problem(r, status, field)
    assert await staff.get("/v1/leases", params={"site_id": w.site["id"]}) == before
    _problem(await staff.call("GET", f"/v1/leases/{uuid.uuid4()}"), 404)
    _problem(await staff.call("GET", "/v1/no-such-route"), 404)
    r = await staff.call("POST", "/v1/leases", content=b"{not json", headers={"content-type": "application/json"})
    _problem(r, 422)


async def test_added_seats_sit_with_the_lease(staff: Api) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=10)
    zone_a = [s["id"] for s in w.seats if s["zone"] == "A"]
    zone_b = [s["id"] for s in w.seats if s["zone"] == "B"]

    async def book(ids: list[str]) -> dict[str, Any]:
        body = lease_body(w, seat_ids=ids, start_date="2031-01-01")
        body.pop("seat_count")
        return cast(dict[str, Any], await staff.post("/v1/leases", body))

    lease = await book(zone_a[:2])
    await book(zone_b[:5])  # zone B is now the tighter fit for a single seat
    added = await staff.post(f"/v1/leases/{lease['id']}/seats", {"seat_count": 2, "effective": "2031-02-01"})
    assert {s["zone"] for s in added["seats"]} == {"A"}
    assert len(added["seats"]) == 4
    # a fresh lease of one seat takes the tightest fit instead
    fresh = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2031-01-01"))
    assert fresh["seats"][0]["zone"] == "B"
