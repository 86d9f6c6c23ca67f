"""The one rule "this seat is held on day D in window W" (SQL function ``seat_held``, migration
0012_seat_held): it is the minute-by-minute oracle, it agrees with the segments the triggers store
(``lease_seat_segments_of``), and PostgreSQL inlines it, so availability keeps its index scan."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import asyncpg
from hypothesis import HealthCheck, example, given, settings
from sqlalchemy.dialects import postgresql

from domain.leasing.availability import free_seats_page_stmt
from tests.test_night_tail import lease, oracle_conflict

# the stored lease A's segments (as the triggers write them) against what a lease B would hold
HELD = """
SELECT EXISTS (SELECT 1 FROM lease_seat_segments_of($1, $2, $3, $4) g
               WHERE seat_held(g.start_date, g.end_date, g.win_lo, g.win_hi, $5, $6, $7, $8)),
       EXISTS (SELECT 1 FROM lease_seat_segments_of($1, $2, $3, $4) g, lease_seat_segments_of($5, $6, $7, $8) q
               WHERE daterange(g.start_date, g.end_date, '[]') && daterange(q.start_date, q.end_date, '[]')
                 AND int4range(g.win_lo, g.win_hi) && int4range(q.win_lo, q.win_hi))
"""


@given(lease, lease)
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@example(((1260, 360), date(2031, 4, 1), date(2031, 4, 10)), ((0, 0), date(2031, 4, 11), date(2031, 4, 11)))
@example(((1260, 360), date(2031, 4, 1), date(2031, 4, 10)), ((0, 0), date(2031, 4, 12), None))
@example(((1260, 0), date(2031, 4, 1), date(2031, 4, 10)), ((0, 0), date(2031, 4, 11), None))
@example(((0, 0), date(2031, 4, 2), None), ((1260, 360), date(2031, 4, 1), date(2031, 4, 1)))
async def test_seat_held_is_the_oracle_and_the_stored_segments(db: asyncpg.Pool, a: Any, b: Any) -> None:
    (wa, sa, ea), (wb, sb, eb) = a, b
    row = await db.fetchrow(HELD, sa, ea, *wa, sb, eb, *wb)
    assert row is not None
    by_function, by_segments = row
    assert by_function == oracle_conflict(a, b), (a, b)
    assert by_segments == by_function, (a, b)


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(_plan_nodes(child))
    return out


async def test_postgres_inlines_the_rule_and_availability_reads_the_index(db: asyncpg.Pool) -> None:
    """Were ``seat_held`` not inlined, the plan would call it by name for every segment and could not
    use the segments' index: availability would slow down with the number of leases."""
    stmt = free_seats_page_stmt(uuid.uuid4(), (1260, 360), date(2031, 4, 1), None, 10)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert "seat_held(" in sql  # the statement does call the one rule
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        raw = await conn.fetchval(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}")
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    text = json.dumps(plan)
    assert "seat_held" not in text, "the rule was not inlined"
    assert "win_lo < 360" in text or "(g.win_lo < 360)" in text or "win_lo < 360)" in text, text[:2000]
    indexes = {n.get("Index Name") for n in _plan_nodes(plan)}
    assert "ix_lease_seat_segments_site_live" in indexes, indexes
