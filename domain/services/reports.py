"""Occupancy by site, floor and shift for a date."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def held_sql(seg: str, day: str, lo: str, hi: str) -> str:
    """SQL: the lease_seat_segments row ``seg`` holds a minute that a lease of the daily window
    [``lo``, ``hi``) on the one date ``day`` would hold (a night's morning tail included).

    The rule of availability (domain/leasing/availability.py ``_conflicting_rows``) and the seat map
    (``held_on_day_sql``), for a window read from each row (the shift's): ``lease_seat_segments_of``
    is the SQL twin of ``occupancy_segments`` (migration 0008_night_tail)."""
    return (
        f"EXISTS (SELECT 1 FROM lease_seat_segments_of({day}, {day}, {lo}, {hi}) q "
        f"WHERE {seg}.start_date <= q.end_date AND coalesce({seg}.end_date, 'infinity'::date) >= q.start_date "
        f"AND {seg}.win_lo < q.win_hi AND {seg}.win_hi > q.win_lo)"
    )


_SHIFT_LO = "(extract(hour FROM sh.starts_at) * 60 + extract(minute FROM sh.starts_at))::int"
_SHIFT_HI = "(extract(hour FROM sh.ends_at) * 60 + extract(minute FROM sh.ends_at))::int"

# leased for this shift on this day: a stored occupancy segment of the seat overlaps what a lease of
# the shift on that one day would hold (held_sql, the rule of availability and the seat map too)
OCCUPANCY_SQL = text(f"""
SELECT si.id AS site_id, si.code AS site_code, f.id AS floor_id, f.name AS floor_name, sh.code AS shift,
       count(se.id) FILTER (WHERE se.status = 'active') AS seats_total,
       count(se.id) FILTER (WHERE se.status = 'active' AND EXISTS (
           SELECT 1 FROM lease_seat_segments g
           WHERE g.seat_id = se.id AND {held_sql("g", "CAST(:day AS date)", _SHIFT_LO, _SHIFT_HI)}
       )) AS seats_leased
FROM sites si
JOIN floors f ON f.site_id = si.id
JOIN shifts sh ON sh.site_id = si.id
LEFT JOIN seats se ON se.floor_id = f.id
WHERE (CAST(:site_id AS uuid) IS NULL OR si.id = CAST(:site_id AS uuid))
GROUP BY si.id, si.code, f.id, f.name, f.level, sh.code, sh.starts_at
ORDER BY si.code, f.level, f.name, sh.starts_at
""")


async def occupancy(session: AsyncSession, day: date, site_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    rows = (await session.execute(OCCUPANCY_SQL, {"day": day, "site_id": site_id})).mappings().all()
    return [{**r, "occupancy_rate": round(r["seats_leased"] / r["seats_total"], 4) if r["seats_total"] else 0.0} for r in rows]
