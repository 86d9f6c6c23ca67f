"""The second booking baseline: what the database must do for a booking, by hand.

A bare FastAPI app on an asyncpg pool that makes the booking's own statements, in one transaction,
with nothing of ours around them (no auth, no ORM, no idempotency store, no views): the shift and
the reconciler's wake-up in one query, the lease row, the free seats of the site per zone (the
same SQL as domain/leasing/availability.py), a pick of the first free seats of the zone with the
most, the seat locks and rows in one statement (the same SQL as domain/leasing/seats.py, under
the exclusion constraint and its triggers), and the audit row. It answers "how fast could a
booking be, keeping the guarantees", where the issue's own baseline (one INSERT of a lease row)
answers "how fast is a web request that writes a row".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, time
from typing import Any

import asyncpg
from common import Compiled, plain_url
from pydantic import BaseModel

from domain.leasing.availability import _zones_stmt
from domain.leasing.seats import _TAKE, SEAT_LOCK_CLASS, _seat_lock_key

# created_by of the rows this baseline writes, so that they are deleted after its run
BARE_BOOKING_MARKER = uuid.UUID("00000000-0000-4000-8000-0000000ba5e1")

SHIFT_SQL = """SELECT sh.id, sh.code, sh.starts_at, sh.ends_at, pg_notify('seatlease_leases', '')
               FROM shifts sh WHERE sh.site_id = $1 AND sh.code = $2"""
LEASE_SQL = """INSERT INTO leases (client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, end_date,
                                   status, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'confirmed', $9) RETURNING id"""
AUDIT_SQL = """INSERT INTO audit_events (actor_id, actor, action, object_type, object_id, client_id, after)
               VALUES ($1, 'bench', 'lease.create', 'lease', $2, $3, $4::jsonb)"""


class Body(BaseModel):
    client_id: uuid.UUID
    team_id: uuid.UUID
    site_id: uuid.UUID
    plan_id: uuid.UUID
    shift: str
    start_date: date
    end_date: date | None = None
    seat_count: int


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


_zones: dict[tuple[tuple[int, int], bool], Compiled] = {}
_take = Compiled(_TAKE)


def _zones_sql(window: tuple[int, int], bounded: bool) -> Compiled:
    if (window, bounded) not in _zones:
        _zones[window, bounded] = Compiled(_zones_stmt(window, bounded))
    return _zones[window, bounded]


def app(url: str) -> Any:
    from fastapi import FastAPI, HTTPException

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(plain_url(url), min_size=20, max_size=40)
        yield
        await app.state.pool.close()

    api = FastAPI(lifespan=lifespan)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/v1/leases", status_code=201)
    async def book(b: Body) -> dict[str, Any]:
        async with api.state.pool.acquire() as conn, conn.transaction():
            shift = await conn.fetchrow(SHIFT_SQL, b.site_id, b.shift)
            window = (_minutes(shift["starts_at"]), _minutes(shift["ends_at"]))
            lease = await conn.fetchval(
                LEASE_SQL,
                b.client_id,
                b.team_id,
                b.site_id,
                b.plan_id,
                shift["id"],
                shift["code"],
                b.start_date,
                b.end_date,
                BARE_BOOKING_MARKER,
            )
            await conn.execute("SAVEPOINT seat_pick")
            values = {"site": b.site_id, "start": b.start_date, "end": b.end_date}
            for _ in range(20):  # a lost race: read and pick again
                zones = _zones_sql(window, b.end_date is not None)
                rows = await conn.fetch(zones.sql, *zones.args(values))
                best = max(rows, key=lambda r: len(r[3]), default=None)
                if best is None or len(best[3]) < b.seat_count:
                    raise HTTPException(409, "not enough free seats")
                ids = sorted(uuid.UUID(bytes=best[2][16 * i : 16 * i + 16]) for i in range(b.seat_count))
                take = {
                    "cls": SEAT_LOCK_CLASS,
                    "keys": sorted({_seat_lock_key(s) for s in ids}),
                    "lease": lease,
                    "start": b.start_date,
                    "end": b.end_date,
                    "ws": window[0],
                    "we": window[1],
                    "seats": ids,
                }
                try:
                    taken = await conn.fetch(_take.sql, *_take.args(take))
                except asyncpg.ExclusionViolationError:
                    await conn.execute("ROLLBACK TO SAVEPOINT seat_pick")
                    continue
                if all(r[2] is None for r in taken):
                    break
                await conn.execute("ROLLBACK TO SAVEPOINT seat_pick")
            else:
                raise HTTPException(409, "the seats were taken by concurrent bookings")
            after = {"id": str(lease), "seats": [r[1] for r in taken], "status": "confirmed"}
            await conn.execute(AUDIT_SQL, BARE_BOOKING_MARKER, str(lease), b.client_id, json.dumps(after))
        return {"id": str(lease), "seats": after["seats"]}

    return api
