"""Revenue by site, floor, shift and client per month; occupancy over time; revenue per available
seat-shift (issue 12, "revenue in view"). Set-based SQL; Python only folds the aggregated rows.

Revenue is recognised from issued invoices (issued, partially paid, paid: never drafts, never void
ones) by the service month of each line (its `service_month`; a setup fee or one-time add-on by the
month of its `service_start`; a line with neither by the invoice's period), before tax. Deposits are
a liability, not revenue, and are left out with their refunds. A true-up credit that exceeded its
invoice moved to credit notes by a `credit_transfer` line: both are left out, the true-up lines
already carry the change. A manual credit note is subtracted from its invoice's client, site and
period, not attributed to a floor or shift. A lease's line is spread over the floors its seats
stood on that month by seat-days (exact shares, summing to the line); a line without seats that
month, or without a lease, has no floor.

Seat-shifts: a seat offers each of its site's named shifts every day (FULL is not one more: a site
with only FULL offers one); a lease sells one seat-shift per seat and day of its row's dates, a FULL
lease every named shift. Available seat-shifts are the floor's active seats (their status today:
seats keep no status history) × named shifts × days of the month.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from billing.facts import Month
from billing.revenue_schemas import (
    OccupancyMonth,
    OccupancyReport,
    ReportRange,
    RevenueBy,
    RevenueReport,
    RevenueRow,
    RevpassReport,
    RevpassRow,
)
from domain.models.held import shift_days_sql
from domain.rules.money import div_half_up

_MONTH_END = "(x.month + interval '1 month - 1 day')::date"
_SERVICE_MONTH = (
    "coalesce(il.service_month, date_trunc('month', il.service_start)::date, to_date(i.period || '-01', 'YYYY-MM-DD'))"
)

# $1 first month's first day, $2 last month's first day, $3 site, $4 client
_LINES = f"""
lines AS (
  SELECT i.client_id, i.site_id, i.currency, il.lease_id, {_SERVICE_MONTH} AS month, il.amount_minor AS amount
  FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
  WHERE i.status IN ('issued', 'partially_paid', 'paid') AND il.kind NOT IN ('deposit', 'credit_transfer', 'inclusion')
    AND {_SERVICE_MONTH} BETWEEN $1::date AND $2::date
    AND ($3::uuid IS NULL OR i.site_id = $3) AND ($4::uuid IS NULL OR i.client_id = $4)
)"""

# a lease's lines of a month over the floors its seats stood on, by seat-days: each floor's share is
# the rounded running total minus the one before it, so the shares add up to the line exactly
_BY_FLOOR = f"""
lease_lines AS (
  SELECT client_id, site_id, currency, lease_id, month, sum(amount) AS amount FROM lines GROUP BY 1, 2, 3, 4, 5
),
x AS (SELECT DISTINCT lease_id, month FROM lease_lines WHERE lease_id IS NOT NULL),
-- a lease's seats by floor and dates, counted: what the seat-days per floor are made of
fspans AS (
  SELECT ls.lease_id, se.floor_id, ls.start_date, ls.end_date, count(*) AS n
  FROM lease_seats ls JOIN seats se ON se.id = ls.seat_id
  WHERE NOT ls.voided AND ($3::uuid IS NULL OR ls.site_id = $3)
    AND ($4::uuid IS NULL OR ls.lease_id IN (SELECT id FROM leases WHERE client_id = $4))
  GROUP BY ls.lease_id, se.floor_id, ls.start_date, ls.end_date
),
w AS (
  SELECT x.lease_id, x.month, fs.floor_id,
         sum(fs.n * (least(coalesce(fs.end_date, 'infinity'::date), {_MONTH_END}) - greatest(fs.start_date, x.month) + 1)) AS w
  FROM x JOIN fspans fs ON fs.lease_id = x.lease_id
  WHERE {shift_days_sql("fs", "x.month", _MONTH_END)}
  GROUP BY x.lease_id, x.month, fs.floor_id
),
cum AS (
  SELECT l.client_id, l.site_id, l.currency, l.lease_id, l.month, w.floor_id, l.amount, w.w,
         sum(w.w) OVER (PARTITION BY l.lease_id, l.month ORDER BY w.floor_id ROWS UNBOUNDED PRECEDING) AS upto,
         sum(w.w) OVER (PARTITION BY l.lease_id, l.month) AS total
  FROM lease_lines l LEFT JOIN w ON w.lease_id = l.lease_id AND w.month = l.month
),
split AS (
  SELECT client_id, site_id, currency, lease_id, month, floor_id,
         CASE WHEN w IS NULL THEN amount
              ELSE (round(amount * upto / total) - round(amount * (upto - w) / total))::bigint END AS amount
  FROM cum
)"""

_NOTES = """
  SELECT cn.client_id, cn.site_id, cn.currency, NULL, to_date(i.period || '-01', 'YYYY-MM-DD'), NULL, -cn.amount_minor
  FROM credit_notes cn JOIN invoices i ON i.id = cn.invoice_id
  WHERE cn.status = 'issued' AND cn.kind = 'manual' AND i.status IN ('issued', 'partially_paid', 'paid')
    AND to_date(i.period || '-01', 'YYYY-MM-DD') BETWEEN $1::date AND $2::date
    AND ($3::uuid IS NULL OR cn.site_id = $3) AND ($4::uuid IS NULL OR cn.client_id = $4)"""


def revenue_ctes(by_floor: bool) -> str:
    """`rev`: (client, site, currency, lease, month, floor, amount) rows; floors only when asked for
    (the seat-days behind them are most of the query's work)."""
    if by_floor:
        return f"{_LINES},{_BY_FLOOR},\nrev AS (\n  SELECT * FROM split\n  UNION ALL{_NOTES}\n)"
    return (
        f"{_LINES},\nrev AS (\n  SELECT client_id, site_id, currency, lease_id, month, NULL::uuid AS floor_id, amount "
        f"FROM lines\n  UNION ALL{_NOTES}\n)"
    )


# each breakdown: its key columns (summed over first), the columns that name them, the joins to read those
_BY: dict[str, tuple[str, str, str]] = {
    "site": ("r.site_id", "g.site_id, s.code AS site_code", "JOIN sites s ON s.id = g.site_id"),
    "floor": (
        "r.site_id, r.floor_id",
        "g.site_id, s.code AS site_code, g.floor_id, f.name AS floor_name",
        "JOIN sites s ON s.id = g.site_id LEFT JOIN floors f ON f.id = g.floor_id",
    ),
    "shift": (
        "r.site_id, l.shift_code",
        "g.site_id, s.code AS site_code, g.shift_code AS shift",
        "JOIN sites s ON s.id = g.site_id",
    ),
    "client": ("r.client_id", "g.client_id, c.legal_name AS client_name", "JOIN clients c ON c.id = g.client_id"),
}
_ORDER = {
    "site": "s.code",
    "floor": "s.code, f.level, f.name",
    "shift": "s.code, g.shift_code",
    "client": "c.legal_name, g.client_id",
}


def revenue_sql(by: str) -> str:
    keys, cols, joins = _BY[by]
    lease = "LEFT JOIN leases l ON l.id = r.lease_id" if by == "shift" else ""
    return f"""
WITH {revenue_ctes(by == "floor")},
g AS (
  SELECT r.month, r.currency, {keys}, sum(r.amount)::bigint AS amount_minor
  FROM rev r {lease}
  GROUP BY r.month, r.currency, {keys}
)
SELECT g.month, g.currency, {cols}, g.amount_minor
FROM g {joins}
ORDER BY g.month, g.currency, {_ORDER[by]}
"""


def _args(rng: ReportRange, site_id: uuid.UUID | None, client_id: uuid.UUID | None) -> list[Any]:
    return [rng.first.first, rng.last.first, site_id, client_id]


async def revenue_report(
    conn: Any, rng: ReportRange, by: RevenueBy, site_id: uuid.UUID | None = None, client_id: uuid.UUID | None = None
) -> RevenueReport:
    rows = await conn.fetch(revenue_sql(by), *_args(rng, site_id, client_id))
    items = [RevenueRow(**{**dict(r), "month": str(Month.of(r["month"]))}) for r in rows]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for it in items:
        totals[(it.month, it.currency)] += it.amount_minor
    return RevenueReport(
        from_month=str(rng.first),
        to_month=str(rng.last),
        by=by,
        items=items,
        totals=[RevenueRow(month=m, currency=c, amount_minor=a) for (m, c), a in sorted(totals.items())],
    )


# $1 first month's first day, $2 last month's first day, $3 site
CAPACITY_CTES = """
months AS (
  SELECT d::date AS month, (d + interval '1 month - 1 day')::date AS day
  FROM generate_series($1::date, $2::date, interval '1 month') d
),
nsh AS (
  SELECT site_id, greatest(1, count(*) FILTER (WHERE starts_at <> ends_at))::int AS n FROM shifts
  WHERE $3::uuid IS NULL OR site_id = $3 GROUP BY site_id
),
cap AS (
  SELECT se.site_id, se.floor_id, count(*) AS seats FROM seats se
  WHERE se.status = 'active' AND ($3::uuid IS NULL OR se.site_id = $3) GROUP BY se.site_id, se.floor_id
)"""

OCCUPANCY_SQL = f"""
WITH {CAPACITY_CTES},
used AS (
  SELECT se.site_id, se.floor_id, m.month,
         sum((least(coalesce(ls.end_date, 'infinity'::date), m.day) - greatest(ls.start_date, m.month) + 1)
             * CASE WHEN sh.starts_at = sh.ends_at THEN nsh.n ELSE 1 END) AS sold
  FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id JOIN shifts sh ON sh.id = l.shift_id
  JOIN seats se ON se.id = ls.seat_id JOIN nsh ON nsh.site_id = se.site_id
  JOIN months m ON {shift_days_sql("ls", "m.month", "m.day")}
  WHERE NOT ls.voided AND l.status NOT IN ('proposed', 'cancelled') AND ($3::uuid IS NULL OR ls.site_id = $3)
  GROUP BY se.site_id, se.floor_id, m.month
)
SELECT m.month, s.id AS site_id, s.code AS site_code, f.id AS floor_id, f.name AS floor_name,
       (coalesce(cap.seats, 0) * nsh.n * (m.day - m.month + 1))::bigint AS available,
       coalesce(u.sold, 0)::bigint AS sold
FROM sites s JOIN nsh ON nsh.site_id = s.id JOIN floors f ON f.site_id = s.id CROSS JOIN months m
LEFT JOIN cap ON cap.floor_id = f.id
LEFT JOIN used u ON u.floor_id = f.id AND u.month = m.month
WHERE cap.seats IS NOT NULL OR u.sold IS NOT NULL
ORDER BY m.month, s.code, f.level, f.name
"""


def _rate(sold: int, available: int) -> float:
    return round(sold / available, 4) if available else 0.0


async def occupancy_report(conn: Any, rng: ReportRange, site_id: uuid.UUID | None = None) -> OccupancyReport:
    """Per month and site: the site's row (floor null, its floors added up), then each floor's."""
    groups: dict[tuple[Any, Any], list[Any]] = {}
    for r in await conn.fetch(OCCUPANCY_SQL, rng.first.first, rng.last.first, site_id):
        groups.setdefault((r["month"], r["site_id"]), []).append(r)
    items: list[OccupancyMonth] = []
    for (month, _), rows in groups.items():
        available, sold = sum(r["available"] for r in rows), sum(r["sold"] for r in rows)
        for r, floor in [(rows[0], False), *((r, True) for r in rows)]:
            a, s = (r["available"], r["sold"]) if floor else (available, sold)
            items.append(
                OccupancyMonth(
                    month=str(Month.of(month)),
                    site_id=r["site_id"],
                    site_code=r["site_code"],
                    floor_id=r["floor_id"] if floor else None,
                    floor_name=r["floor_name"] if floor else None,
                    available_seat_shifts=a,
                    leased_seat_shifts=s,
                    occupancy_rate=_rate(s, a),
                )
            )
    return OccupancyReport(from_month=str(rng.first), to_month=str(rng.last), items=items)


REVPASS_CAPACITY_SQL = f"""
WITH {CAPACITY_CTES}
SELECT m.month, s.id AS site_id, s.code AS site_code, s.currency, nsh.n,
       (coalesce(sum(cap.seats), 0) * (m.day - m.month + 1))::bigint AS seat_days,
       array(SELECT sh.code FROM shifts sh WHERE sh.site_id = s.id AND sh.starts_at <> sh.ends_at
             ORDER BY sh.starts_at, sh.code) AS shifts
FROM sites s JOIN nsh ON nsh.site_id = s.id CROSS JOIN months m LEFT JOIN cap ON cap.site_id = s.id
GROUP BY m.month, m.day, s.id, s.code, s.currency, nsh.n
ORDER BY m.month, s.code
"""


def spread(amount: int, parts: int) -> list[int]:
    """`amount` in `parts` shares as even as can be, summing exactly (the first ones take the remainder)."""
    return [div_half_up(amount * (k + 1), parts) - div_half_up(amount * k, parts) for k in range(parts)]


async def revpass_report(conn: Any, rng: ReportRange, site_id: uuid.UUID | None = None) -> RevpassReport:
    """Per site-month: its revenue over active seats × named shifts × days; per named shift: the
    revenue of that shift's leases, with a share of the FULL leases' (a FULL seat sells every shift),
    over active seats × days. The site's figure is the mean of its shifts' when all its revenue
    comes from leases; one-off lines and credit notes count for the site only."""
    revenue = await revenue_report(conn, rng, "shift", site_id)
    by_shift: dict[tuple[str, uuid.UUID], dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for r in revenue.items:
        assert r.site_id is not None
        by_shift[(r.month, r.site_id)][r.shift] += r.amount_minor
    items: list[RevpassRow] = []
    for c in await conn.fetch(REVPASS_CAPACITY_SQL, rng.first.first, rng.last.first, site_id):
        month = str(Month.of(c["month"]))
        rev = by_shift.get((month, c["site_id"]), {})
        named: list[str] = list(c["shifts"])
        available = c["seat_days"] * c["n"]
        site_total = sum(rev.values())
        base = {"month": month, "site_id": c["site_id"], "site_code": c["site_code"], "currency": c["currency"]}
        items.append(
            RevpassRow(
                **base,
                shift=None,
                revenue_minor=site_total,
                available_seat_shifts=available,
                revpass_minor=div_half_up(site_total, available) if available else 0,
            )
        )
        full = sum(a for code, a in rev.items() if code is not None and code not in named)
        for code, share in zip(named, spread(full, len(named)) if named else [], strict=True):
            amount = rev.get(code, 0) + share
            items.append(
                RevpassRow(
                    **base,
                    shift=code,
                    revenue_minor=amount,
                    available_seat_shifts=c["seat_days"],
                    revpass_minor=div_half_up(amount, c["seat_days"]) if c["seat_days"] else 0,
                )
            )
    return RevpassReport(from_month=str(rng.first), to_month=str(rng.last), items=items)
