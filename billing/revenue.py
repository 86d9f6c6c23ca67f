"""Monthly recurring revenue and its movement (issue 12, "revenue in view"), set-based SQL.

A lease's MRR at a month's end is what billing would charge it for a whole month with the terms and
seats it has on that day (billing/calc.py `expected_monthly` over a full month): seats held that day
(the row's own dates, `shift_days_sql`, the rule the run bills by) × the seat price in force that day
(domain/rules/pricing.py `price_on`: the latest dated step, then the yearly escalation) + monthly
add-ons in force × their unit price, less the lease's discount rounded half up. Leases in the
statuses billing bills (confirmed, active, ended) and in force on that day.

`price_on` is rendered in SQL here (the step in force, the anniversaries after it), with the
compounding itself, `escalate`, computed by Python for the few distinct (price, percentage) pairs
and joined in as a table: tests/billing/test_revenue_price_rule.py holds the SQL to `price_on`.

Movement is counted per client and currency, month over month: a client from nothing is new, to
nothing is churn, up is expansion (seats added, add-ons, a price rise), down is contraction.
So mrr_end = mrr_start + new + expansion − contraction − churn, in each currency.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from billing.facts import Month
from billing.revenue_schemas import MrrMonth, MrrReport, ReportRange
from domain.models.held import shift_days_sql
from domain.rules.pricing import escalate


def anniversaries_sql(start: str, day: str) -> str:
    """SQL: how many anniversaries of `start` fall in (start, day] (29 February → 28 February in
    common years, as PostgreSQL's `date + interval 'n years'` and pricing.anniversary both do)."""
    years = f"(extract(year FROM {day})::int - extract(year FROM {start})::int)"
    return f"greatest(0, {years} - (({start} + make_interval(years => {years})) > {day})::int)"


# $1 first day of the month before the range, $2 first day of its last month, $3 site, $4 client,
# $5..$8 the escalation table (price, percentage, years, escalated price).
#
# What a lease holds at each month end comes from its seat spans and its add-ons (a lease with neither
# is worth nothing that day). A *plain* lease (no discount, no escalation, no dated price) is worth
# seats × its price + add-ons, a sum: those are added up per client and month straight away. The
# others are priced lease by lease and month (the price in force, the discount rounded per lease),
# then added up the same way (`client_mrr`). `lease_mrr` is that per-lease pricing.
LEASE_MRR_CTES = f"""
months AS (
  SELECT d::date AS month, (d + interval '1 month - 1 day')::date AS day
  FROM generate_series($1::date, $2::date, interval '1 month') d
),
esc AS (SELECT * FROM unnest($5::bigint[], $6::numeric[], $7::int[], $8::bigint[]) AS e(p0, pct, n, p)),
scope AS (
  SELECT l.id, l.client_id, s.currency, l.start_date, l.end_date, l.monthly_price_minor AS price,
         (l.discount_pct = 0 AND l.escalation_pct IS NULL
          AND NOT EXISTS (SELECT 1 FROM lease_price_steps ps WHERE ps.lease_id = l.id)) AS plain
  FROM leases l JOIN sites s ON s.id = l.site_id
  WHERE l.status IN ('confirmed', 'active', 'ended') AND l.start_date <= ($2::date + interval '1 month - 1 day')::date
    AND (l.end_date IS NULL OR l.end_date >= $1::date)
    AND ($3::uuid IS NULL OR l.site_id = $3) AND ($4::uuid IS NULL OR l.client_id = $4)
),
-- a lease's seats with the same dates are alike here: counted once per date span, as billing reads them
spans AS (
  SELECT ls.lease_id, ls.start_date, ls.end_date, count(*) AS n
  FROM lease_seats ls
  WHERE NOT ls.voided AND (ls.end_date IS NULL OR ls.end_date >= $1::date) AND ls.lease_id IN (SELECT id FROM scope)
  GROUP BY ls.lease_id, ls.start_date, ls.end_date
),
-- (lease, month end, seats, add-ons) parts, on the days the lease is in force; an add-on with no
-- start runs from the lease's start
held AS (
  SELECT sc.id, sc.client_id, sc.currency, sc.plain, sc.price, m.month, m.day, ls.n AS seats, 0::bigint AS addons
  FROM spans ls JOIN scope sc ON sc.id = ls.lease_id
  JOIN months m ON {shift_days_sql("ls", "m.day", "m.day")}
  WHERE sc.start_date <= m.day AND (sc.end_date IS NULL OR sc.end_date >= m.day)
  UNION ALL
  SELECT sc.id, sc.client_id, sc.currency, sc.plain, sc.price, m.month, m.day, 0, la.unit_price_minor * la.quantity
  FROM lease_add_ons la JOIN inclusions i ON i.id = la.inclusion_id AND i.billing = 'monthly'
  JOIN scope sc ON sc.id = la.lease_id
  JOIN months m ON (la.start_date IS NULL OR la.start_date <= m.day) AND (la.end_date IS NULL OR la.end_date >= m.day)
  WHERE sc.start_date <= m.day AND (sc.end_date IS NULL OR sc.end_date >= m.day)
),
lease_month AS (
  SELECT id, month, day, sum(seats) AS seats, sum(addons) AS addons FROM held WHERE NOT plain GROUP BY id, month, day
),
steps AS (
  SELECT DISTINCT ON (ps.lease_id, m.month) ps.lease_id, m.month, ps.effective_date, ps.monthly_price_minor
  FROM lease_price_steps ps JOIN months m ON ps.effective_date <= m.day
  WHERE ps.lease_id IN (SELECT id FROM scope WHERE NOT plain)
  ORDER BY ps.lease_id, m.month, ps.effective_date DESC
),
priced AS (
  SELECT l.id, l.client_id, s.currency, lm.month, lm.day, l.start_date, l.escalation_pct, l.discount_pct,
         lm.seats, lm.addons, coalesce(st.monthly_price_minor, l.monthly_price_minor) AS p0,
         coalesce(st.effective_date, l.start_date) AS anchor
  FROM lease_month lm JOIN leases l ON l.id = lm.id JOIN sites s ON s.id = l.site_id
  LEFT JOIN steps st ON st.lease_id = lm.id AND st.month = lm.month
),
gross AS (
  SELECT pr.id, pr.client_id, pr.currency, pr.month, pr.seats, pr.discount_pct,
         coalesce(e.p, pr.p0) AS price, pr.seats * coalesce(e.p, pr.p0) + pr.addons AS gross
  FROM priced pr LEFT JOIN esc e ON pr.escalation_pct IS NOT NULL AND e.p0 = pr.p0 AND e.pct = pr.escalation_pct
       AND e.n = {anniversaries_sql("pr.start_date", "pr.day")} - {anniversaries_sql("pr.start_date", "pr.anchor")}
),
lease_mrr AS (
  SELECT g.id, g.client_id, g.currency, g.month, g.seats, g.price,
         (g.gross - round(g.gross * g.discount_pct / 100))::bigint AS mrr
  FROM gross g
),
client_mrr AS (
  SELECT client_id, currency, month, sum(mrr) AS mrr FROM (
    SELECT client_id, currency, month, mrr FROM lease_mrr
    UNION ALL
    SELECT client_id, currency, month, sum(seats * price + addons) FROM held WHERE plain GROUP BY client_id, currency, month
  ) x GROUP BY client_id, currency, month
)"""

MOVEMENT_SQL = f"""
WITH {LEASE_MRR_CTES},
cm AS (SELECT * FROM client_mrr),
mv AS (
  SELECT coalesce(c.currency, p.currency) AS currency,
         coalesce(c.month, (p.month + interval '1 month')::date) AS month,
         coalesce(c.mrr, 0) AS cur, coalesce(p.mrr, 0) AS prev
  FROM cm c FULL JOIN cm p ON p.client_id = c.client_id AND p.currency = c.currency
       AND p.month = (c.month - interval '1 month')::date
)
SELECT month, currency,
       sum(prev)::bigint AS mrr_start,
       sum(cur)::bigint AS mrr_end,
       coalesce(sum(cur) FILTER (WHERE prev = 0 AND cur > 0), 0)::bigint AS new,
       coalesce(sum(cur - prev) FILTER (WHERE prev > 0 AND cur > prev), 0)::bigint AS expansion,
       coalesce(sum(prev - cur) FILTER (WHERE cur > 0 AND cur < prev), 0)::bigint AS contraction,
       coalesce(sum(prev) FILTER (WHERE prev > 0 AND cur = 0), 0)::bigint AS churn,
       count(*) FILTER (WHERE cur > 0) AS clients_end,
       count(*) FILTER (WHERE prev = 0 AND cur > 0) AS new_clients,
       count(*) FILTER (WHERE prev > 0 AND cur = 0) AS churned_clients
FROM mv
WHERE month BETWEEN ($1::date + interval '1 month')::date AND $2::date
GROUP BY month, currency
ORDER BY month, currency
"""

# the (price, percentage) pairs a lease may escalate from, and since when: its base price and its steps
ESCALATING_SQL = """
SELECT x.p, l.escalation_pct AS pct, min(l.start_date) AS since
FROM leases l CROSS JOIN LATERAL (
  SELECT l.monthly_price_minor AS p
  UNION SELECT ps.monthly_price_minor FROM lease_price_steps ps WHERE ps.lease_id = l.id
) x
WHERE l.escalation_pct IS NOT NULL AND l.status IN ('confirmed', 'active', 'ended') AND l.start_date <= $1
  AND ($2::uuid IS NULL OR l.site_id = $2) AND ($3::uuid IS NULL OR l.client_id = $3)
GROUP BY x.p, l.escalation_pct
"""


async def escalation_table(
    conn: Any, last: Month, site_id: uuid.UUID | None, client_id: uuid.UUID | None
) -> tuple[list[int], list[Decimal], list[int], list[int]]:
    """`pricing.escalate(price, pct, n)` for every pair a lease in scope may need, n = 0 .. the years
    from its earliest start to `last`: four parallel arrays for the query's `esc` table."""
    p0s: list[int] = []
    pcts: list[Decimal] = []
    ns: list[int] = []
    ps: list[int] = []
    for r in await conn.fetch(ESCALATING_SQL, last.last, site_id, client_id):
        price, pct = int(r["p"]), Decimal(r["pct"])
        for n in range(last.year - r["since"].year + 2):
            p0s.append(r["p"])
            pcts.append(pct)
            ns.append(n)
            ps.append(price)
            price = escalate(price, pct, 1)  # compounding, rounded half up each year: the rule's own
    return p0s, pcts, ns, ps


async def lease_mrr_args(conn: Any, rng: ReportRange, site_id: uuid.UUID | None, client_id: uuid.UUID | None) -> list[Any]:
    """The arguments of LEASE_MRR_CTES: from the month before the range (movement needs its end)."""
    return [
        rng.first.prev().first,
        rng.last.first,
        site_id,
        client_id,
        *await escalation_table(conn, rng.last, site_id, client_id),
    ]


async def mrr_report(
    conn: Any, rng: ReportRange, site_id: uuid.UUID | None = None, client_id: uuid.UUID | None = None
) -> MrrReport:
    rows = await conn.fetch(MOVEMENT_SQL, *await lease_mrr_args(conn, rng, site_id, client_id))
    found = {(str(Month.of(r["month"])), r["currency"]): r for r in rows}
    currencies = sorted({cur for _, cur in found})
    items = []
    # every month of the range in every currency seen, zeros where nothing was in force
    for m in rng.months:
        for cur in currencies:
            r: Any = found.get((str(m), cur), defaultdict(int))
            items.append(
                MrrMonth(
                    month=str(m),
                    currency=cur,
                    mrr_start_minor=r["mrr_start"],
                    new_minor=r["new"],
                    expansion_minor=r["expansion"],
                    contraction_minor=r["contraction"],
                    churn_minor=r["churn"],
                    mrr_end_minor=r["mrr_end"],
                    clients_end=r["clients_end"],
                    new_clients=r["new_clients"],
                    churned_clients=r["churned_clients"],
                )
            )
    return MrrReport(from_month=str(rng.first), to_month=str(rng.last), currencies=currencies, items=items)
