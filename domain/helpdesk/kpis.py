"""The help desk's KPIs (issue 15): tickets opened and resolved, response and resolution time p50/p90 per
category and priority, SLA compliance, problematic assets, incidents by floor, shift and category over time.

Three statements, each one pass over the tickets on an index (migration 0041_helpdesk_kpis): the summary
(GROUPING SETS by category, by priority and overall), the problematic assets (GROUPING SETS by device and
by seat) and the incidents (GROUPING SETS by floor, shift and category per bucket). A period is a range of
calendar dates, each site's own: the coarse UTC bounds the statements receive (a day either side) let
the index range scan, the per-site bounds inside decide. The SQL is public so that bench/bench_helpdesk.py
runs the very same statements bare.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.helpdesk.kpi_schemas import (
    Bucket,
    CategoryIncidents,
    FloorIncidents,
    HelpdeskKpis,
    Incidents,
    KpiGroup,
    ProblematicAsset,
    ProblematicAssets,
    ShiftIncidents,
    SlaFigure,
    TimeStats,
)
from domain.models import Site
from domain.models.ticket import TicketCategory, TicketPriority

MAX_DAYS = 400  # a year and a bit: twelve months back from any day of this month
WINDOW_DAYS = 90  # problematic assets: tickets in the last 90 days
DAILY_UP_TO = 62  # the default bucket: daily up to two months, weekly beyond


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included
    bucket: Bucket

    def coarse(self) -> tuple[datetime, datetime]:
        """UTC instants surely around every site's [first 00:00, last+1 00:00): zones lie within ±14 h."""
        lo = datetime.combine(self.first, datetime.min.time(), UTC) - timedelta(days=1)
        hi = datetime.combine(self.last + timedelta(days=1), datetime.min.time(), UTC) + timedelta(days=1)
        return lo, hi


def _day(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad(field)
    except ValueError:
        return _bad(field)


def _bad(field: str) -> date:
    raise ValidationFailed(f"{field} must be a date, YYYY-MM-DD", field=field)


def parse_period(from_: str | None, to: str | None, bucket: str | None, today: date) -> Period:
    """`from` and `to` (YYYY-MM-DD, both included; default the 30 days up to today); 422 naming the field."""
    last = _day(to, "to") or today
    first = _day(from_, "from") or last - timedelta(days=29)
    if last < first:
        raise ValidationFailed("to is before from", field="to")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise ValidationFailed(f"a period covers at most {MAX_DAYS} days (this one has {days})", field="to")
    if bucket not in (None, "", "day", "week"):
        raise ValidationFailed("bucket is day or week", field="bucket")
    chosen: Bucket = "week" if bucket == "week" or (not bucket and days > DAILY_UP_TO) else "day"
    return Period(first, last, chosen)


# in the period, on the ticket's site's calendar: `si` is _SITE_BOUNDS's row of the ticket's site
def _within(col: str) -> str:
    return f"({col} >= si.lo AND {col} < si.hi)"


# each site's period as instants ($1 first day, $2 last day), converted once per site rather than per ticket
_SITE_BOUNDS = """bounds AS (
  SELECT id, code, timezone, ($1::date::timestamp AT TIME ZONE timezone) AS lo,
         (($2::date + 1)::timestamp AT TIME ZONE timezone) AS hi
  FROM sites WHERE $3::uuid IS NULL OR id = $3::uuid
)"""


_RESP_BREACHED = (
    "(t.response_breached_at IS NOT NULL OR t.responded_at > t.response_due_at "
    "OR (t.responded_at IS NULL AND t.sla_paused_at IS NULL AND t.response_due_at < $4))"
)
_RES_BREACHED = (
    "(t.resolution_breached_at IS NOT NULL OR t.resolved_at > t.resolution_due_at "
    "OR (t.resolved_at IS NULL AND t.sla_paused_at IS NULL AND t.resolution_due_at < $4))"
)

# $1 first day, $2 last day, $3 site or NULL, $4 now, $5/$6 coarse UTC bounds
SUMMARY_SQL = f"""
WITH {_SITE_BOUNDS}, x AS (
  SELECT t.category, t.priority,
         {_within("t.created_at")} AS opened,
         {_within("t.responded_at")} AS responded,
         {_within("t.resolved_at")} AS resolved,
         EXTRACT(EPOCH FROM t.responded_at - t.created_at)::float8 AS response_s,
         EXTRACT(EPOCH FROM t.resolved_at - t.created_at)::float8 AS resolution_s,
         t.response_due_at IS NOT NULL AS resp_target,
         t.response_due_at IS NOT NULL AND {_RESP_BREACHED} AS resp_breached,
         t.response_due_at IS NOT NULL AND NOT {_RESP_BREACHED} AND t.responded_at IS NOT NULL AS resp_met,
         t.resolution_due_at IS NOT NULL AS res_target,
         t.resolution_due_at IS NOT NULL AND {_RES_BREACHED} AS res_breached,
         t.resolution_due_at IS NOT NULL AND NOT {_RES_BREACHED} AND t.resolved_at IS NOT NULL AS res_met
  FROM tickets t JOIN bounds si ON si.id = t.site_id
  WHERE ($3::uuid IS NULL OR t.site_id = $3::uuid)
    AND ((t.created_at >= $5 AND t.created_at < $6)
         OR (t.responded_at >= $5 AND t.responded_at < $6)
         OR (t.resolved_at >= $5 AND t.resolved_at < $6))
)
SELECT GROUPING(category) AS g_category, GROUPING(priority) AS g_priority, category, priority,
       count(*) FILTER (WHERE opened) AS opened,
       count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE responded) AS responded_n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_s) FILTER (WHERE responded) AS response_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY response_s) FILTER (WHERE responded) AS response_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_s) FILTER (WHERE resolved) AS resolution_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_s) FILTER (WHERE resolved) AS resolution_p90,
       count(*) FILTER (WHERE opened AND resp_target) AS resp_target,
       count(*) FILTER (WHERE opened AND resp_met) AS resp_met,
       count(*) FILTER (WHERE opened AND resp_breached) AS resp_breached,
       count(*) FILTER (WHERE opened AND res_target) AS res_target,
       count(*) FILTER (WHERE opened AND res_met) AS res_met,
       count(*) FILTER (WHERE opened AND res_breached) AS res_breached
FROM x
GROUP BY GROUPING SETS ((category), (priority), ())
"""

# $1 since, $2 until (instants), $3 site or NULL, $4 threshold
ASSETS_SQL = """
WITH c AS (
  SELECT GROUPING(t.device_id) AS g_device, t.device_id, t.seat_id, count(*) AS n,
         count(*) FILTER (WHERE t.status IN ('new', 'acknowledged', 'in_progress', 'waiting_on_client')) AS open_n,
         max(t.created_at) AS last_at
  FROM tickets t
  WHERE t.created_at >= $1 AND t.created_at < $2 AND ($3::uuid IS NULL OR t.site_id = $3::uuid)
  GROUP BY GROUPING SETS ((t.device_id), (t.seat_id))
  HAVING count(*) > $4
)
SELECT CASE WHEN c.g_device = 0 THEN 'device' ELSE 'seat' END AS kind,
       coalesce(d.id, s.id) AS id,
       CASE WHEN c.g_device = 0 THEN d.serial || ' (' || d.kind || ')' ELSE s.label END AS label,
       si.id AS site_id, si.code AS site_code, f.id AS floor_id, f.name AS floor_name, d.serial,
       c.n, c.open_n, c.last_at
FROM c
LEFT JOIN devices d ON c.g_device = 0 AND d.id = c.device_id
LEFT JOIN seats s ON c.g_device = 1 AND s.id = c.seat_id
LEFT JOIN seats ds ON ds.id = d.seat_id
LEFT JOIN floors f ON f.id = coalesce(s.floor_id, ds.floor_id)
LEFT JOIN sites si ON si.id = coalesce(s.site_id, d.site_id)
WHERE coalesce(d.id, s.id) IS NOT NULL
ORDER BY c.n DESC, kind, label
"""

# $1 first day, $2 last day, $3 site or NULL, $4 'day' | 'week', $5/$6 coarse UTC bounds.
# The shift: the lease holding the ticket's seat at the local minute the fault began (a NIGHT shift's
# morning-after segment included; the exclusion constraint leaves at most one), else the ticket's own
# lease. A join on the seat, not a lookup per ticket: one hash join over every live segment.
INCIDENTS_SQL = f"""
WITH {_SITE_BOUNDS}, lt AS MATERIALIZED (
  SELECT t.category, t.seat_id, t.lease_id, si.code AS site_code, t.occurred_at AT TIME ZONE si.timezone AS at
  FROM tickets t JOIN bounds si ON si.id = t.site_id
  WHERE t.occurred_at >= $5 AND t.occurred_at < $6 AND ($3::uuid IS NULL OR t.site_id = $3::uuid)
    AND t.occurred_at >= si.lo AND t.occurred_at < si.hi
), x AS MATERIALIZED (
  -- the local instant, converted once per ticket; its day, minute and bucket read from it
  SELECT category, seat_id, lease_id, site_code, at::date AS local_day,
         (extract(hour FROM at) * 60 + extract(minute FROM at))::int AS local_minute,
         CASE WHEN $4::text = 'week' THEN date_trunc('week', at)::date ELSE at::date END AS bucket
  FROM lt
), seg AS (
  SELECT g.seat_id, g.start_date, g.end_date, g.win_lo, g.win_hi, l.shift_code
  FROM lease_seat_segments g
  JOIN lease_seats ls ON ls.id = g.lease_seat_id
  JOIN leases l ON l.id = ls.lease_id
  WHERE l.status NOT IN ('proposed', 'cancelled') AND ($3::uuid IS NULL OR g.site_id = $3::uuid)
), y AS (
  SELECT x.category, x.bucket, x.site_code, f.id AS floor_id, f.name AS floor_name,
         coalesce(seg.shift_code, tl.shift_code) AS shift
  FROM x
  LEFT JOIN seats se ON se.id = x.seat_id
  LEFT JOIN floors f ON f.id = se.floor_id
  LEFT JOIN leases tl ON tl.id = x.lease_id
  LEFT JOIN seg ON seg.seat_id = x.seat_id
       AND seg.start_date <= x.local_day AND (seg.end_date IS NULL OR seg.end_date >= x.local_day)
       AND seg.win_lo <= x.local_minute AND x.local_minute < seg.win_hi
)
SELECT GROUPING(site_code, floor_id, floor_name) AS g_floor, GROUPING(shift) AS g_shift, bucket,
       site_code, floor_id, floor_name, shift, category, count(*) AS n
FROM y
GROUP BY GROUPING SETS ((bucket, site_code, floor_id, floor_name), (bucket, shift), (bucket, category))
ORDER BY bucket, site_code, floor_name, shift, category
"""

OPEN_SQL = """
SELECT category, priority, count(*) AS n FROM tickets
WHERE status IN ('new', 'acknowledged', 'in_progress', 'waiting_on_client')
GROUP BY category, priority
"""

TOTALS_SQL = "SELECT category, count(*) AS opened, count(resolved_at) AS resolved FROM tickets GROUP BY category"


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's transaction (begun first, so the raw statements run in it)."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    return (await conn.get_raw_connection()).driver_connection


def summary_args(p: Period, site_id: uuid.UUID | None, now: datetime) -> list[Any]:
    return [p.first, p.last, site_id, now, *p.coarse()]


def incidents_args(p: Period, site_id: uuid.UUID | None) -> list[Any]:
    return [p.first, p.last, site_id, p.bucket, *p.coarse()]


def assets_window(p: Period, site: Site | None, now: datetime) -> tuple[datetime, datetime]:
    """The 90 days up to the period's end (the end of its last day on the site's calendar, UTC's for all
    sites), or up to now when the period runs on."""
    tz = ZoneInfo(site.timezone) if site is not None else UTC
    end = datetime.combine(p.last + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
    until = min(end, now)
    return until - timedelta(days=WINDOW_DAYS), until


def _stats(n: Any, p50: Any, p90: Any) -> TimeStats:
    def r(v: Any) -> float | None:
        return None if v is None else round(float(v), 3)

    return TimeStats(count=int(n), p50_seconds=r(p50), p90_seconds=r(p90))


def _sla(target: int, met: int, breached: int) -> SlaFigure:
    decided = met + breached
    return SlaFigure(
        with_target=target,
        met=met,
        breached=breached,
        pending=target - decided,
        compliance=round(met / decided, 4) if decided else None,
    )


def _group(key: str | None, r: Any) -> KpiGroup:
    return KpiGroup(
        key=key,
        opened=int(r["opened"]),
        resolved=int(r["resolved"]),
        response_time=_stats(r["responded_n"], r["response_p50"], r["response_p90"]),
        resolution_time=_stats(r["resolved"], r["resolution_p50"], r["resolution_p90"]),
        sla_response=_sla(int(r["resp_target"]), int(r["resp_met"]), int(r["resp_breached"])),
        sla_resolution=_sla(int(r["res_target"]), int(r["res_met"]), int(r["res_breached"])),
    )


def _empty(key: str | None) -> KpiGroup:
    none = TimeStats(count=0, p50_seconds=None, p90_seconds=None)
    sla = _sla(0, 0, 0)
    return KpiGroup(key=key, opened=0, resolved=0, response_time=none, resolution_time=none, sla_response=sla, sla_resolution=sla)


def summary_of(rows: list[Any]) -> tuple[KpiGroup, list[KpiGroup], list[KpiGroup]]:
    """Totals, then every category and every priority (those without tickets at zero), in the enums' order."""
    totals = _empty(None)
    cats: dict[str, KpiGroup] = {}
    pris: dict[str, KpiGroup] = {}
    for r in rows:
        if r["g_category"] and r["g_priority"]:
            totals = _group(None, r)
        elif not r["g_category"]:
            cats[r["category"]] = _group(r["category"], r)
        else:
            pris[r["priority"]] = _group(r["priority"], r)
    return (
        totals,
        [cats.get(c.value) or _empty(c.value) for c in TicketCategory],
        [pris.get(p.value) or _empty(p.value) for p in TicketPriority],
    )


def _asset(r: Any) -> ProblematicAsset:
    if r["kind"] == "device":
        link = f"/admin/devices?serial={r['serial']}"
    else:
        link = f"/admin/sites/{r['site_id']}/map?floor_id={r['floor_id']}&seat={r['id']}"
    return ProblematicAsset(
        kind=r["kind"],
        id=r["id"],
        label=r["label"],
        site_id=r["site_id"],
        site_code=r["site_code"],
        floor_name=r["floor_name"],
        tickets=int(r["n"]),
        open_tickets=int(r["open_n"]),
        last_ticket_at=r["last_at"],
        link=link,
    )


def incidents_of(rows: list[Any], bucket: Bucket) -> Incidents:
    floors, shifts, cats = [], [], []
    for r in rows:
        if not r["g_floor"]:
            floors.append(
                FloorIncidents(
                    bucket=r["bucket"],
                    site_code=r["site_code"],
                    floor_id=r["floor_id"],
                    floor_name=r["floor_name"],
                    count=int(r["n"]),
                )
            )
        elif not r["g_shift"]:
            shifts.append(ShiftIncidents(bucket=r["bucket"], shift=r["shift"], count=int(r["n"])))
        else:
            cats.append(CategoryIncidents(bucket=r["bucket"], category=r["category"], count=int(r["n"])))
    return Incidents(bucket=bucket, by_floor=floors, by_shift=shifts, by_category=cats)


async def read_summary(session: AsyncSession, period: Period, site_id: uuid.UUID | None, now: datetime) -> KpiGroup:
    """The overall figures only (the dashboard's card, /metrics)."""
    rows = await (await _driver(session)).fetch(SUMMARY_SQL, *summary_args(period, site_id, now))
    return summary_of(rows)[0]


async def read_kpis(
    session: AsyncSession, period: Period, site: Site | None, threshold: int, now: datetime | None = None
) -> HelpdeskKpis:
    """Every KPI of the period (on one site, or all). `threshold`: a device or seat with more tickets than
    this in the 90-day window is problematic."""
    now = now or datetime.now(UTC)
    site_id = site.id if site is not None else None
    conn = await _driver(session)
    totals, by_category, by_priority = summary_of(await conn.fetch(SUMMARY_SQL, *summary_args(period, site_id, now)))
    since, until = assets_window(period, site, now)
    assets = await conn.fetch(ASSETS_SQL, since, until, site_id, threshold)
    incidents = await conn.fetch(INCIDENTS_SQL, *incidents_args(period, site_id))
    return HelpdeskKpis(
        from_date=period.first,
        to_date=period.last,
        site_id=site_id,
        generated_at=now,
        totals=totals,
        by_category=by_category,
        by_priority=by_priority,
        problematic_assets=ProblematicAssets(
            threshold=threshold, window_days=WINDOW_DAYS, since=since, until=until, items=[_asset(r) for r in assets]
        ),
        incidents=incidents_of(incidents, period.bucket),
    )


async def open_by_category_priority(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Tickets not yet resolved, by category and priority (pairs with none are absent)."""
    rows = await (await _driver(session)).fetch(OPEN_SQL)
    return {(r["category"], r["priority"]): int(r["n"]) for r in rows}


async def totals_by_category(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """Every ticket ever opened and resolved, by category: the /metrics counters."""
    rows = await (await _driver(session)).fetch(TOTALS_SQL)
    return {r["category"]: (int(r["opened"]), int(r["resolved"])) for r in rows}
