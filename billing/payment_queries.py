"""Read-models of payments (issue 12): a payment with its allocations, a client's payments, its
balance per currency (outstanding, credit, held cheques, withheld tax), refunds, withholding
certificates and the report of the certificates still missing."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

from billing.payment_schemas import METHOD_LABELS
from billing.payments import credit_balances, site_today
from billing.settlement import Figures, figures

PAYMENT_SQL = """
SELECT p.id, p.client_id, p.method, p.status, p.amount_minor, p.currency, p.paid_on, p.received_on, p.reference, p.voided_on,
       p.source_ref, p.created_at,
       coalesce((SELECT sum(a.amount_minor) FROM payment_allocations a WHERE a.payment_id = p.id), 0)::bigint AS allocated_minor
FROM payments p
"""


async def _with_allocations(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    allocations: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for a in await conn.fetch(
        """SELECT a.id, a.payment_id, a.invoice_id, i.number_label AS invoice_number, a.amount_minor, a.withheld_minor,
                  a.allocated_on FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id
           WHERE a.payment_id = ANY($1::uuid[]) ORDER BY a.allocated_on, a.created_at, a.id""",
        ids,
    ):
        allocations[a["payment_id"]].append(dict(a))
    out = []
    for r in rows:
        d = dict(r)
        d["unallocated_minor"] = d["amount_minor"] - d["allocated_minor"]
        d["allocations"] = allocations[r["id"]]
        out.append(d)
    return out


async def payment(conn: Any, payment_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await conn.fetch(PAYMENT_SQL + " WHERE p.id = $1", payment_id)
    return (await _with_allocations(conn, rows))[0] if rows else None


async def payment_client(conn: Any, payment_id: uuid.UUID) -> uuid.UUID | None:
    value = await conn.fetchval("SELECT client_id FROM payments WHERE id = $1", payment_id)
    return value if isinstance(value, uuid.UUID) else None


async def payments_page(
    conn: Any,
    *,
    client_id: uuid.UUID | None,
    status: str | None,
    invoice_id: uuid.UUID | None,
    cursor: uuid.UUID | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Payments newest first (by the day they count, then id), keyset-paged by id within that order."""
    rows = await conn.fetch(
        PAYMENT_SQL
        + """ WHERE ($1::uuid IS NULL OR p.client_id = $1) AND ($2::text IS NULL OR p.status = $2)
              AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM payment_allocations a WHERE a.payment_id = p.id
                                               AND a.invoice_id = $3))
              AND ($4::uuid IS NULL OR p.id > $4) ORDER BY p.id LIMIT $5""",
        client_id,
        status,
        invoice_id,
        cursor,
        limit + 1,
    )
    nxt = str(rows[limit - 1]["id"]) if len(rows) > limit else None
    return await _with_allocations(conn, rows[:limit]), nxt


async def client_payments(conn: Any, client_id: uuid.UUID, limit: int = 200) -> list[dict[str, Any]]:
    """A client's payments for its page, latest first."""
    rows = await conn.fetch(
        PAYMENT_SQL + " WHERE p.client_id = $1 ORDER BY p.paid_on DESC, p.created_at DESC LIMIT $2", client_id, limit
    )
    return await _with_allocations(conn, rows)


BALANCE_SQL = """
SELECT currency,
       sum(outstanding)::bigint AS outstanding_minor, sum(held)::bigint AS held_minor, sum(withheld)::bigint AS withheld_minor
FROM (
  SELECT i.currency, i.total_minor
         - coalesce((SELECT sum(c.total_minor) FROM credit_notes c WHERE c.invoice_id = i.id AND c.status = 'issued'), 0)
         - coalesce((SELECT sum(a.amount_minor + a.withheld_minor) FROM payment_allocations a
                     JOIN payments p ON p.id = a.payment_id
                     WHERE a.invoice_id = i.id AND p.status = 'cleared'), 0) AS outstanding,
         0 AS held, 0 AS withheld
  FROM invoices i WHERE i.client_id = $1 AND i.status IN ('issued', 'partially_paid', 'paid')
  UNION ALL SELECT currency, 0, amount_minor, 0 FROM payments WHERE client_id = $1 AND status = 'held'
  UNION ALL SELECT p.currency, 0, 0, a.withheld_minor FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
            WHERE p.client_id = $1 AND p.status = 'cleared'
) x GROUP BY currency
"""


async def client_balance(conn: Any, client_id: uuid.UUID) -> list[dict[str, Any]]:
    """Per currency: what the client's invoices still ask for, its credit, held cheques, tax withheld."""
    credit = await credit_balances(conn, client_id)
    rows = {r["currency"]: dict(r) for r in await conn.fetch(BALANCE_SQL, client_id)}
    out = []
    for cur in sorted(set(rows) | set(credit)):
        r = rows.get(cur, {"outstanding_minor": 0, "held_minor": 0, "withheld_minor": 0})
        c = credit.get(cur, 0)
        out.append(
            {
                "currency": cur,
                "outstanding_minor": int(r["outstanding_minor"]),
                "credit_minor": c,
                "held_minor": int(r["held_minor"]),
                "balance_minor": int(r["outstanding_minor"]) - c,
                "withheld_minor": int(r["withheld_minor"]),
            }
        )
    return out


async def refunds(conn: Any, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM credit_refunds WHERE client_id = $1 ORDER BY refunded_on DESC, created_at DESC", client_id
    )
    return [dict(r) for r in rows]


async def certificates(conn: Any, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM withholding_certificates WHERE client_id = $1 ORDER BY year DESC, quarter DESC", client_id
    )
    return [dict(r) for r in rows]


MISSING_SQL = """
SELECT p.client_id, c.legal_name, extract(year FROM p.paid_on)::int AS year, extract(quarter FROM p.paid_on)::int AS quarter,
       p.currency, sum(a.withheld_minor)::bigint AS withheld_minor, count(DISTINCT p.id)::int AS payments
FROM payment_allocations a JOIN payments p ON p.id = a.payment_id JOIN clients c ON c.id = p.client_id
WHERE p.status = 'cleared' AND a.withheld_minor > 0 AND ($1::uuid IS NULL OR p.client_id = $1)
  AND NOT EXISTS (SELECT 1 FROM withholding_certificates w WHERE w.client_id = p.client_id
                  AND w.year = extract(year FROM p.paid_on) AND w.quarter = extract(quarter FROM p.paid_on))
GROUP BY p.client_id, c.legal_name, year, quarter, p.currency
ORDER BY year, quarter, c.legal_name, p.currency
"""


async def missing_certificates(conn: Any, client_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Clients and quarters (of the day the payment counts) with tax withheld and no certificate yet,
    the amounts per currency: the creditable tax finance is still to chase."""
    return [dict(r) for r in await conn.fetch(MISSING_SQL, client_id)]


def missing_certificates_csv(rows: list[dict[str, Any]], exponent_of: Any) -> bytes:
    """The report as CSV, amounts in major units with the currency beside them (as the statements)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["client_id", "client", "year", "quarter", "currency", "withheld", "payments"])
    for r in rows:
        exp = exponent_of(r["currency"])
        amount = f"{Decimal(r['withheld_minor']).scaleb(-exp):.{exp}f}"
        w.writerow([r["client_id"], r["legal_name"], r["year"], r["quarter"], r["currency"], amount, r["payments"]])
    return buf.getvalue().encode()


async def applied_today(conn: Any, client_id: uuid.UUID) -> list[dict[str, Any]]:
    """The allocations this transaction made for the client (credit just applied), in order."""
    rows = await conn.fetch(
        """SELECT a.id, a.invoice_id, i.number_label AS invoice_number, a.amount_minor, a.withheld_minor, a.allocated_on
           FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id
           WHERE i.client_id = $1 AND a.created_at = now() ORDER BY a.created_at, a.id""",
        client_id,
    )
    return [dict(r) for r in rows]


async def open_invoice_figures(conn: Any, client_id: uuid.UUID) -> list[Figures]:
    """The client's open invoices, oldest due first, with what each still owes."""
    rows = await conn.fetch(
        """SELECT id FROM invoices WHERE client_id = $1 AND status IN ('issued', 'partially_paid')
           ORDER BY due_date NULLS LAST, issue_date, number""",
        client_id,
    )
    figs = await figures(conn, [r["id"] for r in rows])
    return [figs[r["id"]] for r in rows if r["id"] in figs]


async def billing_currencies(conn: Any) -> list[str]:
    """The currencies the sites bill in (what a payment may be in)."""
    return [r["currency"] for r in await conn.fetch("SELECT DISTINCT currency FROM sites ORDER BY currency")] or ["PHP"]


async def client_panel(conn: Any, client_id: uuid.UUID) -> dict[str, Any]:
    """What the client's admin page shows of its money. Its own currencies come first (the form's default)."""
    own = [r["currency"] for r in await conn.fetch(
        "SELECT currency FROM invoices WHERE client_id = $1 GROUP BY currency ORDER BY max(issue_date) DESC NULLS LAST", client_id
    )]  # fmt: skip
    currencies = own + [c for c in await billing_currencies(conn) if c not in own]
    return {
        "balances": await client_balance(conn, client_id),
        "open_invoices": await open_invoice_figures(conn, client_id),
        "payments": await client_payments(conn, client_id),
        "refunds": await refunds(conn, client_id),
        "certificates": await certificates(conn, client_id),
        "missing": await missing_certificates(conn, client_id),
        "currencies": currencies,
        "today": (await site_today(conn, currencies[0])).isoformat(),
        "methods": METHOD_LABELS,
    }
