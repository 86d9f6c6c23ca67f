"""Issue 10's production shape, proven with real processes: Debian's PostgreSQL with TLS and a
non-superuser owner, `seatlease migrate`, two API processes and two worker processes (see conftest).
The scenarios run in order on one deployment."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Api, lease_body, make_world
from tests.production.conftest import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")

# every pair of live seat holdings of one seat whose dates and minutes overlap: there must be none
OVERLAPS = """
SELECT a.seat_id, la.lease_id AS a_lease, lb.lease_id AS b_lease
FROM lease_seat_segments a
JOIN lease_seat_segments b
  ON b.seat_id = a.seat_id AND b.lease_seat_id <> a.lease_seat_id
 AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
 AND int4range(a.win_lo, a.win_hi) && int4range(b.win_lo, b.win_hi)
JOIN lease_seats la ON la.id = a.lease_seat_id AND NOT la.voided
JOIN lease_seats lb ON lb.id = b.lease_seat_id AND NOT lb.voided
JOIN leases a_l ON a_l.id = la.lease_id AND a_l.status IN ('pending_approval', 'confirmed', 'active')
JOIN leases b_l ON b_l.id = lb.lease_id AND b_l.status IN ('pending_approval', 'confirmed', 'active')
WHERE a.site_id = $1
"""


@pytest.fixture(scope="module")
async def apis(cluster: Cluster) -> AsyncIterator[list[Api]]:
    """A staff caller of each API process (one token: both processes share the key)."""
    clients = [httpx.AsyncClient(base_url=p.base, timeout=60) for p in cluster.apis]
    yield [Api(c, cluster.token) for c in clients]
    for c in clients:
        await c.aclose()


async def test_migrated_by_a_non_superuser_owner_over_tls(cluster: Cluster, owner_db: asyncpg.Pool) -> None:
    row = await owner_db.fetchrow(
        "SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super, "
        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl, "
        "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS owner"
    )
    assert row["who"] == row["owner"] == "seatlease_owner"
    assert row["super"] is False
    assert await owner_db.fetchval("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'") == "btree_gist"
    # every connection of every process is the owner's, over TLS (pg_hba refuses any other)
    sessions = await owner_db.fetch(
        "SELECT a.usename, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
        "WHERE a.datname = current_database() AND a.backend_type = 'client backend'"
    )
    assert {(r["usename"], r["ssl"]) for r in sessions} == {("seatlease_owner", True)}


async def test_concurrent_bookings_across_both_apis_never_overlap(apis: list[Api], owner_db: asyncpg.Pool) -> None:
    w = await make_world(apis[0], seats_per_zone=6)  # 12 seats: 40 bookings must contend
    rnd = random.Random(10)
    first = date(2031, 1, 1)
    bodies = []
    for _ in range(40):
        start = first + timedelta(days=rnd.randrange(0, 20))
        end = None if rnd.random() < 0.3 else start + timedelta(days=rnd.randrange(0, 40))
        bodies.append(
            lease_body(
                w,
                shift=rnd.choice(["DAY", "NIGHT", "FULL"]),
                start_date=start.isoformat(),
                end_date=end.isoformat() if end else None,
                seat_count=rnd.randrange(1, 4),
            )
        )
    answers = await asyncio.gather(*(apis[i % 2].call("POST", "/v1/leases", json=b) for i, b in enumerate(bodies)))
    assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers if r.status_code not in (201, 409)]
    booked = [r.json() for r in answers if r.status_code == 201]
    assert booked, "no booking succeeded"
    assert len(booked) < len(bodies), "no booking contended: the test proves nothing"
    for i, lease in enumerate(booked):
        # a real lease, read back through the other process, holding the seats it answered with
        again = await apis[(i + 1) % 2].get(f"/v1/leases/{lease['id']}")
        assert again["status"] in ("confirmed", "active", "pending_approval")
        assert sorted(s["id"] for s in again["seats"]) == sorted(s["id"] for s in lease["seats"])
        held = await owner_db.fetch("SELECT seat_id FROM lease_seats WHERE lease_id = $1 AND NOT voided", uuid.UUID(lease["id"]))
        assert sorted(str(r["seat_id"]) for r in held) == sorted(s["id"] for s in lease["seats"])
    assert await owner_db.fetch(OVERLAPS, uuid.UUID(w.site["id"])) == []
    leases = await owner_db.fetchval("SELECT count(*) FROM leases WHERE site_id = $1", uuid.UUID(w.site["id"]))
    assert leases == len(booked)


def _pairs(lease: dict[str, Any], members: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"seat_id": s["id"], "member_id": m["id"]} for s, m in zip(lease["seats"], members, strict=True)]
