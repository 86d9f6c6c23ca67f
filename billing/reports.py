"""Billing KPIs: invoice turnaround (period start on the issuer's calendar → invoice issued)."""

from __future__ import annotations

from typing import Any

TURNAROUND_SQL = """
SELECT count(*) AS invoices,
       avg(t) AS avg_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t) AS median_seconds,
       max(t) AS max_seconds
FROM (SELECT extract(epoch FROM i.issued_at - (to_date(i.period || '-01', 'YYYY-MM-DD')::timestamp
                                               AT TIME ZONE s.timezone)) AS t
      FROM invoices i JOIN sites s ON s.id = i.site_id
      WHERE i.issued_at IS NOT NULL AND i.kind = 'run' AND ($1::text IS NULL OR i.period = $1)) x
"""


async def billing_kpis(conn: Any, period: str | None = None) -> dict[str, Any]:
    t = await conn.fetchrow(TURNAROUND_SQL, period)
    counts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'issued') AS open_invoices,
                  count(*) FILTER (WHERE stripe_mismatch) AS stripe_mismatches,
                  count(*) FILTER (WHERE stripe_state IN ('pending','void_pending') AND status <> 'draft')
                    AS awaiting_stripe_sync,
                  count(*) FILTER (WHERE stripe_state = 'failed') AS stripe_sync_failed
           FROM invoices"""
    )
    pending_cn = await conn.fetchval("SELECT count(*) FROM credit_notes WHERE status = 'pending_approval'")

    def num(v: Any) -> float | None:
        return None if v is None else round(float(v), 1)

    return {
        "invoice_turnaround": {
            "invoices": t["invoices"],
            "avg_seconds": num(t["avg_seconds"]),
            "median_seconds": num(t["median_seconds"]),
            "max_seconds": num(t["max_seconds"]),
        },
        **dict(counts),
        "credit_notes_awaiting_approval": pending_cn,
    }
