"""The fast availability query answers exactly as the plain one.

The service writes the date overlap on the columns and reads the stored occupancy segments
(migration 0008_night_tail) so that PostgreSQL serves it from an index; this test holds it to
the definitions: each lease seat's segments from ``lease_seat_segments_of`` against the asked
lease's, compared with ``daterange(.., '[]') &&`` and ``int4range &&``.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date

import asyncpg

from tests.factories import Api, lease_body, make_world


async def test_availability_matches_the_plain_overlap_query(staff: Api, db: asyncpg.Pool) -> None:
    """Leases of every shift, bounded and open-ended, one released seat and one cancelled lease;
    the API's free seats equal what the plain segment overlap says, for many searches."""
    w = await make_world(staff, zones=2, seats_per_zone=8, columns=4)
    site = w.site["id"]
    booked = [
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-01-10", end_date="2031-02-10", seat_count=3)),
        await staff.post("/v1/leases", lease_body(w, shift="NIGHT", start_date="2031-01-01", seat_count=4)),
        await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date="2031-03-01", end_date="2031-03-31", seat_count=5)),
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-02-11", seat_count=2)),
        await staff.post("/v1/leases", lease_body(w, shift="DAY", start_date="2031-06-01", end_date="2031-06-30", seat_count=2)),
    ]
    # the open NIGHT lease gives one seat back from 2031-02-01; the June lease is cancelled
    released = booked[1]["seats"][0]["id"]
    await staff.call("DELETE", f"/v1/leases/{booked[1]['id']}/seats/{released}", 200, params={"effective": "2031-02-01"})
    await staff.call("POST", f"/v1/leases/{booked[4]['id']}/cancel", 200)

    oracle = """
        SELECT s.id FROM seats s
        WHERE s.site_id = $1 AND s.status = 'active' AND NOT EXISTS (
          SELECT 1 FROM lease_seats ls
          CROSS JOIN LATERAL lease_seat_segments_of(ls.start_date, ls.end_date, ls.window_start_min,
                                                    ls.window_end_min) a
          CROSS JOIN LATERAL lease_seat_segments_of($2::date, $3::date, $4, $5) b
          WHERE ls.seat_id = s.id AND NOT ls.voided
            AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
            AND int4range(a.win_lo, a.win_hi) && int4range(b.win_lo, b.win_hi))"""
    windows = {"FULL": (0, 0), "DAY": (360, 900), "NIGHT": (1260, 360)}
    dates = [
        "2030-12-31",
        "2031-01-10",
        "2031-01-31",
        "2031-02-01",
        "2031-02-10",
        "2031-02-11",
        "2031-03-15",
        "2031-04-01",
        "2031-06-15",
    ]
    searched = 0
    for shift, (start, end) in itertools.product(windows, itertools.combinations_with_replacement(dates, 2)):
        for end_ in (end, None):
            params = {"shift": shift, "start": start, "seats": 100, **({"end": end_} if end_ else {})}
            got = await staff.get(f"/v1/sites/{site}/availability", params=params)
            want = {
                str(r["id"])
                for r in await db.fetch(oracle, uuid.UUID(site), _d(start), _d(end_) if end_ else None, *windows[shift])
            }
            assert got["free_count"] == len(want), (params, got["free_count"], len(want))
            assert {s["id"] for s in got["seats"]} == want, params
            searched += 1
    assert searched == 3 * 45 * 2
    # the searches were not trivial: something was taken in some and everything free in others
    sample = await staff.get(f"/v1/sites/{site}/availability", params={"shift": "DAY", "start": "2031-01-10"})
    assert sample["free_count"] < len(w.seats)


def _d(value: str) -> date:
    return date.fromisoformat(value)
