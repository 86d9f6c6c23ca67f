"""What a billing run issues is audited through domain/services/audit.py like every other write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import asyncpg

from tests.billing.conftest import invoices_of, run_month, site_today
from tests.factories import Api, lease_body, make_world


async def test_a_run_audits_each_invoice_it_issues(
    staff: Api, finance: Api, db: asyncpg.Pool, fresh_year: Callable[..., int]
) -> None:
    y = fresh_year()
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date=f"{y}-03-01"))
    run = await run_month(finance, f"{y}-03")
    (inv,) = await invoices_of(finance, w.client["id"], f"{y}-03")
    rows = await db.fetch(
        "SELECT actor_id, actor, action, object_type, client_id, before, after FROM audit_events WHERE object_id = $1",
        inv["id"],
    )
    assert [(r["actor_id"], r["actor"], r["action"], r["object_type"], str(r["client_id"]), r["before"]) for r in rows] == [
        (uuid.UUID(int=0), "billing-run", "invoice.issue", "invoice", w.client["id"], None)
    ]
    assert json.loads(rows[0]["after"]) == {
        "number": inv["number"],
        "period": f"{y}-03",
        "issue_date": inv["issue_date"],
        "total_minor": inv["total_minor"],
        "currency": inv["currency"],
    }
    assert inv["issue_date"] == site_today(w.site).isoformat()
    created = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'billing_run.create'", run["id"]
    )
    assert created == 1
