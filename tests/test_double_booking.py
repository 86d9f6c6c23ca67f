"""No double booking (PRODUCT.md rule 1) and no booking of seats out of service, through the API,
with the requests really running side by side in PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date
from itertools import combinations
from typing import Any

import asyncpg

from domain.rules.shifts import leases_conflict
from tests.factories import Api, lease_body, make_world

WINDOWS = {"FULL": (0, 0), "DAY": (360, 900), "NIGHT": (1260, 360)}
OPEN = None


def d(s: str) -> date:
    return date.fromisoformat(s)


# Groups of booking requests. Inside a group every two requests conflict (so exactly one can win);
# requests of different groups never conflict (so one of each group must win). Seats by index.
GROUPS: list[list[tuple[list[int], str, str, str | None]]] = [
    # seat 0: DAY, NIGHT and FULL windows over 2031
    [
        ([0], "DAY", "2031-01-01", "2031-01-31"),
        ([0], "FULL", "2031-01-10", "2031-01-15"),
        ([0], "DAY", "2031-01-15", "2031-01-20"),
        ([0], "FULL", "2031-01-15", "2031-01-15"),
    ],
    [([0], "NIGHT", "2031-02-01", "2031-02-28"), ([0], "NIGHT", "2031-02-10", "2031-02-10")],
    [([0], "DAY", "2031-02-01", "2031-02-28"), ([0], "DAY", "2031-02-27", "2031-03-03")],
    [
        ([0], "FULL", "2031-03-10", "2031-03-20"),
        ([0], "NIGHT", "2031-03-15", "2031-03-25"),
        ([0], "NIGHT", "2031-03-20", "2031-03-20"),
    ],
    # seat 1: open-ended leases, DAY and NIGHT side by side
    [([1], "DAY", "2031-05-01", OPEN), ([1], "DAY", "2031-06-01", "2031-06-30"), ([1], "DAY", "2031-06-30", "2031-07-02")],
    [([1], "NIGHT", "2031-05-01", OPEN), ([1], "NIGHT", "2031-06-10", "2031-06-12")],
    [
        ([1], "FULL", "2031-01-01", "2031-04-30"),
        ([1], "FULL", "2031-04-30", "2031-04-30"),
        ([1], "NIGHT", "2031-04-29", "2031-04-30"),
    ],
    # seats 2 and 3 together, in both orders (a losing request must leave nothing behind)
    [
        ([2, 3], "DAY", "2031-01-01", "2031-01-31"),
        ([3, 2], "DAY", "2031-01-15", "2031-02-15"),
        ([2], "DAY", "2031-01-20", "2031-01-20"),
    ],
    [
        ([2, 3], "NIGHT", "2031-01-01", OPEN),
        ([3], "NIGHT", "2032-06-15", "2032-07-15"),
        ([3, 2], "FULL", "2032-06-01", "2032-06-30"),
    ],
]
REPEAT = 3


def _conflict(a: tuple[list[int], str, str, str | None], b: tuple[list[int], str, str, str | None]) -> bool:
    return bool(set(a[0]) & set(b[0])) and leases_conflict(
        WINDOWS[a[1]], d(a[2]), d(a[3]) if a[3] else None, WINDOWS[b[1]], d(b[2]), d(b[3]) if b[3] else None
    )


def test_the_groups_are_cliques_and_independent() -> None:
    for group in GROUPS:
        assert all(_conflict(a, b) for a, b in combinations(group, 2)), group
    for g1, g2 in combinations(GROUPS, 2):
        assert not any(_conflict(a, b) for a in g1 for b in g2), (g1, g2)


def _is_problem(r: Any, status: int) -> bool:
    return (
        r.status_code == status
        and r.headers["content-type"].startswith("application/problem+json")
        and r.json()["status"] == status
    )


async def test_fifty_plus_concurrent_conflicting_bookings(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)
    seat_ids = [s["id"] for s in w.seats]
    requests = []
    for gi, group in enumerate(GROUPS):
        for shape in group:
            seats, shift, start, end = shape
            body = lease_body(
                w, shift=shift, start_date=start, end_date=end, seat_count=None, seat_ids=[seat_ids[i] for i in seats]
            )
            body.pop("seat_count")
            requests.extend([(gi, body)] * REPEAT)
    assert len(requests) >= 50

    responses = await asyncio.gather(*(staff.call("POST", "/v1/leases", json=body) for _, body in requests))

    codes = sorted({r.status_code for r in responses})
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    won: dict[int, list[dict[str, Any]]] = {}
    for (gi, body), r in zip(requests, responses, strict=True):
        if r.status_code == 201:
            lease = r.json()
            assert {s["id"] for s in lease["seats"]} == set(body["seat_ids"])
            assert lease["shift"] == body["shift"]
            won.setdefault(gi, []).append(lease)
        else:
            assert _is_problem(r, 409), r.text
            assert r.json()["type"].endswith("seats-unavailable")
    assert sorted(won) == list(range(len(GROUPS))), "every group has exactly one winner"
    assert all(len(v) == 1 for v in won.values()), {k: len(v) for k, v in won.items()}
    assert sum(r.status_code == 409 for r in responses) == len(requests) - len(GROUPS)

    # what PostgreSQL holds: only the winners' rows, and no two of them conflict
    rows = await db.fetch(
        "SELECT ls.lease_id, ls.seat_id, ls.start_date, ls.end_date, ls.window_start_min, ls.window_end_min "
        "FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id WHERE l.site_id = $1 AND NOT ls.voided",
        __import__("uuid").UUID(w.site["id"]),
    )
    winners = {lease["id"] for v in won.values() for lease in v}
    assert {str(r["lease_id"]) for r in rows} == winners
    assert len(rows) == sum(len(v[0]["seats"]) for v in won.values())
    assert await db.fetchval("SELECT count(*) FROM leases WHERE site_id = $1", __import__("uuid").UUID(w.site["id"])) == len(
        GROUPS
    )
    for a, b in combinations(rows, 2):
        if a["seat_id"] == b["seat_id"]:
            assert not leases_conflict(
                (a["window_start_min"], a["window_end_min"]),
                a["start_date"],
                a["end_date"],
                (b["window_start_min"], b["window_end_min"]),
                b["start_date"],
                b["end_date"],
            )


async def test_concurrent_seat_count_bookings_never_share_a_seat(staff: Api) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=10)
    body = lease_body(w, shift="DAY", start_date="2031-03-01", end_date="2031-03-31", seat_count=2)
    responses = await asyncio.gather(*(staff.call("POST", "/v1/leases", json=body) for _ in range(16)))
    ok = [r.json() for r in responses if r.status_code == 201]
    assert all(r.status_code == 201 or _is_problem(r, 409) for r in responses), [r.text for r in responses][:3]
    held = [s["id"] for lease in ok for s in lease["seats"]]
    assert len(held) == len(set(held)) == 2 * len(ok), "a seat was given to two leases"
    # 20 seats: ten leases of two fit, and every one of them sits in one zone
    assert len(ok) == 10, [r.text for r in responses if r.status_code != 201][:2]
    assert all(len({s["zone"] for s in lease["seats"]}) == 1 for lease in ok)
    avail = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAY", "start": "2031-03-01", "end": "2031-03-31"}
    )
    assert avail["free_count"] == 0
    # the NIGHT window of the same seats is untouched
    night = await staff.get(
        f"/v1/sites/{w.site['id']}/availability", params={"shift": "NIGHT", "start": "2031-03-01", "end": "2031-03-31"}
    )
    assert night["free_count"] == 20


async def test_seats_out_of_service_are_never_offered_nor_booked(staff: Api) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=6)
    site = w.site["id"]
    maint, retired = w.seats[0], w.seats[1]
    assert (await staff.call("PATCH", f"/v1/seats/{maint['id']}", 200, json={"status": "maintenance"})).json()[
        "status"
    ] == "maintenance"
    await staff.call("PATCH", f"/v1/seats/{retired['id']}", 200, json={"status": "retired"})
    params = {"shift": "FULL", "start": "2031-01-01", "seats": 100}
    avail = await staff.get(f"/v1/sites/{site}/availability", params=params)
    offered = {s["id"] for s in avail["seats"]}
    assert avail["free_count"] == 4
    assert len(offered) == 4
    assert maint["id"] not in offered
    assert retired["id"] not in offered

    for seat in (maint, retired):
        body = lease_body(w, seat_count=None, seat_ids=[seat["id"]])
        body.pop("seat_count")
        r = await staff.call("POST", "/v1/leases", json=body)
        assert _is_problem(r, 409), r.text
        assert r.json()["field"] == "seat_ids"

    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date="2031-01-01", seat_count=4))
    assert {s["id"] for s in lease["seats"]} == offered
    r = await staff.call("POST", "/v1/leases", json=lease_body(w, shift="DAY", start_date="2031-01-01", seat_count=1))
    assert _is_problem(r, 409), r.text
    assert r.json()["field"] == "seat_count"

    # back in service: offered again
    await staff.call("PATCH", f"/v1/seats/{maint['id']}", 200, json={"status": "active"})
    avail = await staff.get(f"/v1/sites/{site}/availability", params=params)
    assert [s["id"] for s in avail["seats"]] == [maint["id"]]
