"""Accounts-receivable aging: what is still open on a day, by client and currency, in the buckets
finance reads (current, 1-30, 31-60, 61-90, over 90 days past due)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from billing.posting import standing_on

BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "over_90"


# what stood on the day: a payment voided later still paid its invoices then (billing/posting.py)
OPEN_ITEMS_SQL = f"""
SELECT i.id, i.client_id, i.currency, i.number_label, i.issue_date, i.due_date, i.total_minor,
       (i.total_minor
       - coalesce((SELECT sum(c.total_minor) FROM credit_notes c
                   WHERE c.invoice_id = i.id AND c.status = 'issued' AND c.issue_date <= $1), 0)
       - coalesce((SELECT sum(a.amount_minor + a.withheld_minor) FROM payment_allocations a
                   JOIN payments p ON p.id = a.payment_id
                   WHERE a.invoice_id = i.id AND {standing_on("$1")} AND greatest(a.allocated_on, p.paid_on) <= $1), 0)
         )::bigint AS outstanding_minor
FROM invoices i
WHERE i.status IN ('issued', 'partially_paid', 'paid') AND i.issue_date <= $1 AND ($2::uuid IS NULL OR i.client_id = $2)
"""


async def open_items(conn: Any, as_of: date, client_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(OPEN_ITEMS_SQL, as_of, client_id)
    out = []
    for r in rows:
        if r["outstanding_minor"] == 0:
            continue
        d = dict(r)
        d["days_past_due"] = (as_of - r["due_date"]).days
        d["bucket"] = bucket_for(d["days_past_due"])
        out.append(d)
    return out


def aging_of(items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Buckets per currency."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        b = out.setdefault(it["currency"], dict.fromkeys(BUCKETS, 0) | {"total": 0})
        b[it["bucket"]] += it["outstanding_minor"]
        b["total"] += it["outstanding_minor"]
    return out


async def ar_aging(conn: Any, as_of: date) -> dict[str, Any]:
    items = await open_items(conn, as_of)
    names = {
        r["id"]: r["legal_name"]
        for r in await conn.fetch(
            "SELECT id, legal_name FROM clients WHERE id = ANY($1::uuid[])", list({i["client_id"] for i in items})
        )
    }
    per_client: dict[tuple[uuid.UUID, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0) | {"total": 0})
    for it in items:
        b = per_client[(it["client_id"], it["currency"])]
        b[it["bucket"]] += it["outstanding_minor"]
        b["total"] += it["outstanding_minor"]
    return {
        "as_of": as_of,
        "buckets": list(BUCKETS),
        "totals": [{"currency": c, **v} for c, v in sorted(aging_of(items).items())],
        "clients": [
            {"client_id": cid, "legal_name": names.get(cid, ""), "currency": cur, **v}
            for (cid, cur), v in sorted(per_client.items(), key=lambda kv: (kv[0][1], names.get(kv[0][0], "")))
        ],
    }
