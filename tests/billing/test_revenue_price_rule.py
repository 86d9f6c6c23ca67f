"""The MRR query's seat price is domain/rules/pricing.py `price_on`, not a second rule: for random
leases (starts on 29 February too, yearly escalations, dated price steps) the price the SQL reads
at each month's end is the one `price_on` gives, over a range of 36 months."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import asyncpg

from billing import revenue
from billing.facts import Month
from billing.revenue_schemas import parse_range
from domain.rules.pricing import price_on
from tests.factories import Api, make_world


async def test_the_sql_price_at_each_month_end_is_price_on(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    rng = random.Random(20401)
    rep_range = parse_range("2061-01", "2063-12")
    leases: dict[uuid.UUID, tuple[date, int, Decimal | None, list[tuple[date, int]]]] = {}
    async with db.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            # the report reads what a lease holds: each holds an add-on (no seats: 300 leases would need as many)
            monitor = await conn.fetchval(
                "SELECT id FROM inclusions WHERE plan_id = $1 AND billing = 'monthly'", uuid.UUID(w.plan["id"])
            )
            for i in range(300):
                start = date(2056, 2, 29) if i % 10 == 0 else date(2055, 1, 1) + timedelta(days=rng.randrange(365 * 8))
                base = rng.randrange(10_000, 5_000_000)
                pct = rng.choice([None, Decimal("3"), Decimal("5"), Decimal("7.5"), Decimal("10"), Decimal("12.25")])
                steps = sorted(
                    {
                        start + timedelta(days=rng.randrange(1, 365 * 6)): rng.randrange(10_000, 5_000_000)
                        for _ in range(rng.randrange(4))
                    }.items()
                )
                lease_id = uuid.uuid4()
                leases[lease_id] = (start, base, pct, steps)
                await conn.execute(
                    """INSERT INTO leases (id, client_id, team_id, site_id, plan_id, shift_id, shift_code, start_date, status,
                                           monthly_price_minor, setup_fee_minor, deposit_months, escalation_pct)
                       VALUES ($1, $2, $3, $4, $5, $6, 'DAY', $7, 'active', $8, 0, 0, $9)""",
                    lease_id,
                    uuid.UUID(w.client["id"]),
                    uuid.UUID(w.team["id"]),
                    uuid.UUID(w.site["id"]),
                    uuid.UUID(w.plan["id"]),
                    uuid.UUID(w.shifts["DAY"]["id"]),
                    start,
                    base,
                    pct,
                )
                await conn.execute(
                    "INSERT INTO lease_add_ons (id, lease_id, inclusion_id, quantity, unit_price_minor) "
                    "VALUES ($1, $2, $3, 1, 1)",
                    uuid.uuid4(),
                    lease_id,
                    monitor,
                )
                await conn.executemany(
                    "INSERT INTO lease_price_steps (id, lease_id, effective_date, monthly_price_minor) VALUES ($1, $2, $3, $4)",
                    [(uuid.uuid4(), lease_id, d, p) for d, p in steps],
                )
            args = await revenue.lease_mrr_args(conn, rep_range, uuid.UUID(w.site["id"]), None)
            rows = await conn.fetch(f"WITH {revenue.LEASE_MRR_CTES} SELECT id, month, price FROM lease_mrr", *args)
        finally:
            await tr.rollback()
    checked = 0
    for r in rows:
        start, base, pct, steps = leases[r["id"]]
        day = Month.of(r["month"]).last
        assert r["price"] == price_on(day, base_minor=base, start_date=start, steps=steps, escalation_pct=pct), (
            r,
            leases[r["id"]],
        )
        checked += 1
    # every priced lease (a plain one is worth its own price: no discount, escalation or step) at every
    # month end it was in force, the month before the range too
    assert checked == sum(
        1
        for start, _, pct, steps in leases.values()
        for m in [rep_range.first.prev(), *rep_range.months]
        if start <= m.last and (pct or steps)
    )
    assert any(pct for _, _, pct, steps in leases.values() if steps)
