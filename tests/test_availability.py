"""Availability (the SQL search) against the Python rule over every live lease row: the seats offered
are exactly the active seats with no conflicting live row, for random windows, including open ends,
cancelled leases and released seats."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import asyncpg

from domain.rules.shifts import leases_conflict
from tests.factories import Api, lease_body, make_world

WINDOWS = {"FULL": (0, 0), "DAY": (360, 900), "NIGHT": (1260, 360)}
BASE = date(2031, 3, 1)


def _day(rng: random.Random) -> date:
    return BASE + timedelta(days=rng.randrange(0, 90))


async def test_availability_matches_the_rule(staff: Api, db: asyncpg.Pool) -> None:
    rng = random.Random(7)
    w = await make_world(staff, zones=2, seats_per_zone=4, columns=4)
    seats = [s["id"] for s in w.seats]
    await staff.call("PATCH", f"/v1/seats/{seats[-1]}", 200, json={"status": "maintenance"})
    made = []
    for _ in range(24):
        start = _day(rng)
        end = None if rng.random() < 0.25 else start + timedelta(days=rng.randrange(0, 40))
        body = lease_body(
            w,
            shift=rng.choice(list(WINDOWS)),
            start_date=start.isoformat(),
            end_date=end.isoformat() if end else None,
            seat_ids=rng.sample(seats[:-1], rng.randint(1, 2)),
        )
        body.pop("seat_count")
        r = await staff.call("POST", "/v1/leases", json=body)
        assert r.status_code in (201, 409), r.text
        if r.status_code == 201:
            made.append(r.json())
    assert len(made) >= 8
    for lease in made[::4]:
        await staff.post(f"/v1/leases/{lease['id']}/cancel", expect=200)
    for lease in made[1::4]:
        seat = lease["seats"][0]["id"]
        effective = date.fromisoformat(lease["start_date"]) + timedelta(days=rng.randrange(1, 10))
        if lease["end_date"] is None or effective <= date.fromisoformat(lease["end_date"]):
            await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{seat}", 200, params={"effective": effective.isoformat()})

    rows = await db.fetch(
        "SELECT ls.seat_id, ls.start_date, ls.end_date, ls.window_start_min, ls.window_end_min FROM lease_seats ls "
        "JOIN seats s ON s.id = ls.seat_id WHERE s.site_id = $1 AND NOT ls.voided",
        uuid.UUID(w.site["id"]),
    )
    active = seats[:-1]
    partly_taken = 0
    for _ in range(60):
        shift = rng.choice(list(WINDOWS))
        start = _day(rng)
        end = None if rng.random() < 0.3 else start + timedelta(days=rng.randrange(0, 30))
        expected = {
            sid
            for sid in active
            if not any(
                str(r["seat_id"]) == sid
                and leases_conflict(
                    WINDOWS[shift], start, end, (r["window_start_min"], r["window_end_min"]), r["start_date"], r["end_date"]
                )
                for r in rows
            )
        }
        params = {"shift": shift, "start": start.isoformat(), "seats": 100}
        if end:
            params["end"] = end.isoformat()
        avail = await staff.get(f"/v1/sites/{w.site['id']}/availability", params=params)
        assert {s["id"] for s in avail["seats"]} == expected, (shift, start, end)
        assert avail["free_count"] == len(expected)
        partly_taken += 0 < len(expected) < len(active)
    assert partly_taken >= 10, "the random windows should mostly hit some leases and miss others"
