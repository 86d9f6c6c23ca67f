"""One-off charges (cancellation fees, domain/services/charges.py) on the client's next invoice.

A billing run of month M bills, on the invoice of a client and site, every charge of that client
and site that is neither waived nor billed and arose on or before M's last day, as a line of the
charge's kind ('cancellation_fee', or 'termination_fee' for an early termination; taxed like the
other lines). The charges are locked while the batch reads them and marked with their invoice in
the same transaction as the invoice: a re-run, a resumed run or a waiver racing the run never
bills one twice, nor bills a waived one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from billing.facts import Line, Month

PENDING_WHERE = "invoice_id IS NULL AND waived_at IS NULL AND charge_date <= $1"


async def clients_with_pending_charges(conn: Any, month: Month) -> list[uuid.UUID]:
    """Clients to bill for the month even if no lease of theirs is billed (a cancelled lease only)."""
    rows = await conn.fetch(f"SELECT DISTINCT client_id FROM one_off_charges WHERE {PENDING_WHERE}", month.last)
    return [r["client_id"] for r in rows]


async def pending_charges(conn: Any, client_ids: list[uuid.UUID], month: Month) -> list[Any]:
    """The unbilled, unwaived charges of these clients up to the month's end, locked."""
    return list(
        await conn.fetch(
            f"""SELECT id, client_id, site_id, lease_id, kind, description, amount_minor FROM one_off_charges
            WHERE {PENDING_WHERE} AND client_id = ANY($2::uuid[])
            ORDER BY client_id, site_id, charge_date, created_at, id FOR UPDATE""",
            month.last,
            client_ids,
        )
    )


def charge_line(charge: Mapping[str, Any]) -> Line:
    amount = int(charge["amount_minor"])
    return Line(
        kind=str(charge["kind"]),
        description=str(charge["description"]),
        quantity=1,
        unit_price_minor=amount,
        amount_minor=amount,
        lease_id=charge["lease_id"],
    )


async def mark_billed(
    conn: Any, charges: Iterable[Mapping[str, Any]], invoice_ids: Mapping[tuple[uuid.UUID, uuid.UUID], uuid.UUID]
) -> None:
    pairs = [
        (c["id"], invoice_ids[(c["client_id"], c["site_id"])]) for c in charges if (c["client_id"], c["site_id"]) in invoice_ids
    ]
    if pairs:
        await conn.executemany("UPDATE one_off_charges SET invoice_id = $2 WHERE id = $1", pairs)
