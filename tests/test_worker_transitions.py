"""The worker moves leases confirmed → active on their start date and active → ended after their end
date, on each site's own calendar, idempotently."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from service.worker import lease_transitions
from tests.factories import Api, World, lease_body, make_world

EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"  # UTC+14 and UTC-11: always a day or more apart


def _today(tz: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(tz)).date()


async def _lease(staff: Api, db: asyncpg.Pool, w: World, status: str, start: date, end: date | None) -> str:
    """A lease booked far ahead, then moved to the dates under test (time passing, in SQL)."""
    taken = {
        r["seat_id"]
        for r in await db.fetch(
            "SELECT ls.seat_id FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id WHERE l.site_id = $1",
            uuid.UUID(w.site["id"]),
        )
    }
    seat = next(s["id"] for s in w.seats if uuid.UUID(s["id"]) not in taken)
    body = lease_body(w, seat_ids=[seat], start_date="2035-01-01")
    body.pop("seat_count")
    made = await staff.post("/v1/leases", body)
    lid = uuid.UUID(made["id"])
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE lease_seats SET start_date = $2, end_date = $3 WHERE lease_id = $1", lid, start, end)
        await conn.execute("UPDATE leases SET start_date = $2, end_date = $3, status = $4 WHERE id = $1", lid, start, end, status)
    return made["id"]


async def test_transitions_follow_the_site_calendar(staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    east = await make_world(staff, timezone=EAST, zones=1, seats_per_zone=10)
    west = await make_world(staff, timezone=WEST, zones=1, seats_per_zone=10)
    te, tw = _today(EAST), _today(WEST)
    assert te > tw, "Kiritimati's calendar is ahead of Pago Pago's"
    one = timedelta(days=1)
    # the same calendar date is "today" in the east and still ahead in the west
    cases = {
        "east starts today": (east, "confirmed", te, None, "active"),
        "west starts on east's today": (west, "confirmed", te, None, "confirmed"),
        "west starts today": (west, "confirmed", tw, tw + 5 * one, "active"),
        "east starts tomorrow": (east, "confirmed", te + one, None, "confirmed"),
        "east waits for approval": (east, "pending_approval", te - 3 * one, None, "pending_approval"),
        "west ends on its yesterday": (west, "active", tw - 9 * one, tw - one, "ended"),
        "west ends today": (west, "active", tw - 9 * one, tw, "active"),
        "east ends on west's today": (east, "active", te - 9 * one, tw, "ended"),
        "east ends today": (east, "active", te - 9 * one, te, "active"),
        "east starts and ended long ago": (east, "confirmed", te - 9 * one, te - 2 * one, "ended"),
        "east cancelled": (east, "cancelled", te - 2 * one, None, "cancelled"),
    }
    ids = {name: await _lease(staff, db, w, status, start, end) for name, (w, status, start, end, _) in cases.items()}

    first = await lease_transitions(app.state.sessionmaker, app.state.settings)
    states = {name: (await staff.get(f"/v1/leases/{lid}"))["status"] for name, lid in ids.items()}
    assert states == {name: c[4] for name, c in cases.items()}
    # other tests' leases may move too, so count at least ours
    assert first["activated"] >= 3
    assert first["ended"] >= 3

    second = await lease_transitions(app.state.sessionmaker, app.state.settings)
    assert second == {"activated": 0, "ended": 0, "sites_failed": []}
    assert {name: (await staff.get(f"/v1/leases/{lid}"))["status"] for name, lid in ids.items()} == states

    for name, lid in ids.items():
        actions = [
            r["action"]
            for r in await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 AND actor = 'worker' ORDER BY id", lid)
        ]
        was, now = cases[name][1], states[name]
        expected = (["lease.activate"] if was == "confirmed" and now in ("active", "ended") else []) + (
            ["lease.ended"] if now == "ended" else []
        )
        assert actions == expected, (name, actions)
    row = await db.fetchrow(
        "SELECT activated_at, ended_at FROM leases WHERE id = $1", uuid.UUID(ids["east starts and ended long ago"])
    )
    assert row["activated_at"] is not None
    assert row["ended_at"] is not None
