"""The fast booking path (issue: booking throughput) keeps what the slow one guaranteed.

A seat-count booking now reads the free seats once as arrays per zone, lets the plan look at
only the zones it must score, builds its answer from what it has in hand and queues the
provisioning wake-up in its first query. These tests hold the answer to the stored lease, and
the wake-up to a committed booking only.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from tests.factories import Api, lease_body, make_world


async def test_the_booking_answer_is_the_stored_lease(staff: Api) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=6)
    for body in (
        lease_body(w, seat_count=3, start_date="2031-01-01", end_date="2031-06-30"),
        lease_body(w, seat_count=2, start_date="2031-02-01", add_ons=[{"code": "extra_monitor", "quantity": 2}]),
        lease_body(w, seat_ids=[w.seats[-1]["id"]], seat_count=None, start_date="2031-03-01"),
        lease_body(w, seat_count=1, start_date="2031-01-01", discount_pct="50"),
    ):
        created = await staff.post("/v1/leases", body)
        stored = await staff.get(f"/v1/leases/{created['id']}")
        assert created == stored
        assert len(created["seats"]) == len(body.get("seat_ids") or []) or len(created["seats"]) == body["seat_count"]


async def _notifications(db: asyncpg.Pool, action: Any) -> int:
    got: list[str] = []

    def listener(*args: Any) -> None:
        got.append(args[3])

    async with db.acquire() as conn:
        await conn.add_listener("seatlease_leases", listener)
        try:
            await action()
            for _ in range(50):  # delivered asynchronously after the commit
                if got:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
        finally:
            await conn.remove_listener("seatlease_leases", listener)
    return len(got)


async def test_a_booking_wakes_provisioning_only_when_it_commits(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=4)

    async def book(n: int, expect: int) -> None:
        await staff.call("POST", "/v1/leases", expect, json=lease_body(w, seat_count=n, start_date="2031-05-01"))

    assert await _notifications(db, lambda: book(3, 201)) >= 1
    # refused (only one seat left): rolled back, so nothing is delivered
    assert await _notifications(db, lambda: book(2, 409)) == 0


async def test_lost_races_reallocate_and_nobody_double_books(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=2, seats_per_zone=10)
    body = lease_body(w, seat_count=3, start_date="2031-07-01", end_date="2031-12-31")
    results = await asyncio.gather(*(staff.call("POST", "/v1/leases", json=body) for _ in range(8)))
    ok = [r.json() for r in results if r.status_code == 201]
    assert len(ok) == 6  # 20 seats hold six leases of three
    assert all(r.status_code == 409 for r in results if r.status_code != 201)
    held = [s["id"] for lease in ok for s in lease["seats"]]
    assert len(held) == len(set(held)) == 18
    # each lease sits in one zone on one row of neighbours when the map allows it
    assert all(len({s["zone"] for s in lease["seats"]}) == 1 for lease in ok)
    rows = await db.fetchval(
        "SELECT count(*) FROM lease_seats WHERE lease_id = ANY($1::uuid[]) AND NOT voided",
        [uuid.UUID(lease["id"]) for lease in ok],
    )
    assert rows == 18
