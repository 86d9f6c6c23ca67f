"""The fast availability query (migration 0003_leasing_perf) answers exactly as the plain one.

The service writes the date overlap on the columns and the shift-window overlap in integer
comparisons so that PostgreSQL serves it from ix_lease_seats_live_until; these tests hold it
to the definitions: ``daterange(.., '[]') &&`` and the SQL function ``seat_window(..) &&``.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql

from domain.services.leases import window_overlaps, window_segments
from tests.factories import Api, lease_body, make_world


def _sql(expr: Any) -> str:
    return str(expr.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def test_window_overlap_in_integers_is_seat_window_overlap(db: asyncpg.Pool) -> None:
    # every stored window on a 30-minute grid (with the day's edges) against query windows that
    # include the whole day, windows crossing midnight, ending at midnight and one minute long
    grid = sorted(set(range(0, 1440, 30)) | {1, 359, 1439})
    queries = [(a, b) for a, b in itertools.product(range(0, 1440, 120), repeat=2)]
    queries += [(0, 0), (360, 900), (1260, 360), (1260, 0), (0, 1), (1439, 0), (1439, 1), (720, 719)]
    overlap = _sql(window_overlaps(literal_column("ws"), literal_column("we"), (0, 0)))
    assert "seat_window" not in overlap
    checked = 0
    for q in queries:
        expr = _sql(window_overlaps(literal_column("ws"), literal_column("we"), q))
        row = await db.fetchrow(
            f"""SELECT count(*) AS n,
                       count(*) FILTER (WHERE ({expr}) IS DISTINCT FROM
                                        (seat_window(ws, we) && seat_window($2, $3))) AS wrong,
                       count(*) FILTER (WHERE {expr}) AS hits
                FROM unnest($1::int[]) ws, unnest($1::int[]) we""",
            grid, q[0], q[1],
        )
        assert row["wrong"] == 0, f"window {q} disagrees with seat_window on {row['wrong']} rows"
        assert 0 < row["hits"] <= row["n"]
        checked += row["n"]
    assert checked == len(queries) * len(grid) ** 2


def test_window_segments_match_the_sql_function() -> None:
    assert window_segments((0, 0)) == [(0, 1440)]
    assert window_segments((360, 900)) == [(360, 900)]
    assert window_segments((1260, 360)) == [(1260, 1440), (0, 360)]
    assert window_segments((1260, 0)) == [(1260, 1440)]


async def test_availability_matches_the_plain_overlap_query(staff: Api, db: asyncpg.Pool) -> None:
    """Leases of every shift, bounded and open-ended, one released seat and one cancelled lease;
    the API's free seats equal what daterange && and seat_window && say, for many searches."""
    w = await make_world(staff, zones=2, seats_per_zone=8, columns=4)
    site = w.site["id"]
    booked = [
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-01-10", end_date="2031-02-10",
                                                  seat_count=3)),
        await staff.post("/v1/leases", lease_body(w, shift="NIGHT", start_date="2031-01-01", seat_count=4)),
        await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date="2031-03-01", end_date="2031-03-31",
                                                  seat_count=5)),
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-02-11", seat_count=2)),
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-06-01", end_date="2031-06-30",
                                                  seat_count=2)),
    ]
    # the open NIGHT lease gives one seat back from 2031-02-01; the June lease is cancelled
    released = booked[1]["seats"][0]["id"]
    await staff.call("DELETE", f"/v1/leases/{booked[1]['id']}/seats/{released}", 200,
                     params={"effective": "2031-02-01"})
    await staff.call("POST", f"/v1/leases/{booked[4]['id']}/cancel", 200)

    oracle = """
        SELECT s.id FROM seats s
        WHERE s.site_id = $1 AND s.status = 'active' AND NOT EXISTS (
          SELECT 1 FROM lease_seats ls
          WHERE ls.seat_id = s.id AND NOT ls.voided
            AND daterange(ls.start_date, ls.end_date, '[]') && daterange($2::date, $3::date, '[]')
            AND seat_window(ls.window_start_min, ls.window_end_min) && seat_window($4, $5))"""
    windows = {"FULL": (0, 0), "DAY": (360, 900), "NIGHT": (1260, 360)}
    dates = ["2030-12-31", "2031-01-10", "2031-01-31", "2031-02-01", "2031-02-10", "2031-02-11", "2031-03-15",
             "2031-04-01", "2031-06-15"]
    searched = 0
    for shift, (start, end) in itertools.product(windows, itertools.combinations_with_replacement(dates, 2)):
        for end_ in (end, None):
            params = {"shift": shift, "start": start, "seats": 100, **({"end": end_} if end_ else {})}
            got = await staff.get(f"/v1/sites/{site}/availability", params=params)
            want = {str(r["id"]) for r in await db.fetch(
                oracle, uuid.UUID(site), _d(start), _d(end_) if end_ else None, *windows[shift])}
            assert got["free_count"] == len(want), (params, got["free_count"], len(want))
            assert {s["id"] for s in got["seats"]} == want, params
            searched += 1
    assert searched == 3 * 45 * 2
    # the searches were not trivial: something was taken in some and everything free in others
    sample = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "DAY", "start": "2031-01-10"})
    assert sample["free_count"] < len(w.seats)


def _d(value: str) -> date:
    return date.fromisoformat(value)
