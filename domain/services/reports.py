"""Occupancy by site, floor and shift for a date."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

OCCUPANCY_SQL = text("""
SELECT si.id AS site_id, si.code AS site_code, f.id AS floor_id, f.name AS floor_name, sh.code AS shift,
       count(se.id) FILTER (WHERE se.status = 'active') AS seats_total,
       count(se.id) FILTER (WHERE se.status = 'active' AND EXISTS (
           -- leased for this shift on this day: a stored occupancy segment of the seat overlaps what a
           -- lease of the shift on that one day would hold (the rule of the exclusion constraint,
           -- lease_seat_segments_of: a night shift's morning tail included)
           SELECT 1 FROM lease_seat_segments g
           CROSS JOIN LATERAL lease_seat_segments_of(
               CAST(:day AS date), CAST(:day AS date),
               (extract(hour FROM sh.starts_at) * 60 + extract(minute FROM sh.starts_at))::int,
               (extract(hour FROM sh.ends_at) * 60 + extract(minute FROM sh.ends_at))::int) q
           WHERE g.seat_id = se.id
             AND g.start_date <= q.end_date AND coalesce(g.end_date, 'infinity'::date) >= q.start_date
             AND g.win_lo < q.win_hi AND g.win_hi > q.win_lo
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
