"""A client's statement of a month, as data (billing/statement_render.py renders it as CSV and PDF).

Documents are dated on the issuer's calendar: an invoice and a credit note by their issue dates, a
payment by the day it settled (only cleared money: a held post-dated cheque is not), a cleared
payment voided later (a bounced cheque) by the day it was voided, as money returned — it stays in
the month it cleared, so a statement once sent never changes (billing/posting.py) — tax the client
withheld by the day it was applied to its invoice, a refund of a credit balance by the day it was
paid out. A statement for a month shows, per currency, the issuing
entities, the balance brought forward, that month's documents, the balance carried forward and the
aging of what is still open at the month's end:

    closing = opening + invoiced - credited - paid - withheld + refunded + returned"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from billing.aging import BUCKETS, aging_of, open_items
from billing.facts import Month
from billing.posting import POSTED, REVERSED

# money received in the month, cleared only (voided later or not); what it paid is in its allocations
PAYMENTS_SQL = f"""
SELECT p.id, p.currency, p.paid_on, p.method, p.reference, p.amount_minor,
       (SELECT string_agg(i.number_label, ', ' ORDER BY i.number_label) FROM payment_allocations a
        JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = p.id) AS invoice_number
FROM payments p
WHERE p.client_id = $1 AND {POSTED} AND p.paid_on BETWEEN $2 AND $3 ORDER BY p.paid_on, p.created_at
"""

# a cleared payment voided in the month: the money and the tax withheld with it are owed again
RETURNS_SQL = f"""
SELECT p.id, p.currency, p.voided_on, p.method, p.reference, p.amount_minor,
       coalesce((SELECT sum(a.withheld_minor) FROM payment_allocations a WHERE a.payment_id = p.id), 0)::bigint
         AS withheld_minor
FROM payments p
WHERE p.client_id = $1 AND {REVERSED} AND p.voided_on BETWEEN $2 AND $3 ORDER BY p.voided_on, p.created_at
"""

ALLOCATIONS_SQL = """
SELECT a.payment_id, i.number_label AS invoice_number, a.amount_minor, a.withheld_minor
FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id
WHERE a.payment_id = ANY($1::uuid[]) ORDER BY a.payment_id, i.number_label
"""

# the day withheld tax settles its invoice: as AR aging dates it (billing/aging.py)
_WITHHELD_ON = "greatest(a.allocated_on, p.paid_on)"

WITHHELD_SQL = f"""
SELECT a.payment_id, p.currency, {_WITHHELD_ON} AS withheld_on, i.number_label AS invoice_number, a.withheld_minor
FROM payment_allocations a JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id
WHERE p.client_id = $1 AND {POSTED} AND a.withheld_minor > 0 AND {_WITHHELD_ON} BETWEEN $2 AND $3
ORDER BY withheld_on, i.number_label
"""

REFUNDS_SQL = """
SELECT id, currency, refunded_on, method, reference, amount_minor FROM credit_refunds
WHERE client_id = $1 AND refunded_on BETWEEN $2 AND $3 ORDER BY refunded_on, created_at
"""

OPENING_SQL = f"""
SELECT currency, sum(amount) AS balance FROM (
  SELECT currency, total_minor AS amount FROM invoices
    WHERE client_id = $1 AND status IN ('issued','partially_paid','paid') AND issue_date < $2
  UNION ALL SELECT currency, -total_minor FROM credit_notes
    WHERE client_id = $1 AND status = 'issued' AND issue_date < $2
  UNION ALL SELECT p.currency, -p.amount_minor FROM payments p
    WHERE p.client_id = $1 AND {POSTED} AND p.paid_on < $2
  UNION ALL SELECT p.currency, p.amount_minor FROM payments p
    WHERE p.client_id = $1 AND {REVERSED} AND p.voided_on < $2
  UNION ALL SELECT p.currency, -a.withheld_minor FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
    WHERE p.client_id = $1 AND {POSTED} AND {_WITHHELD_ON} < $2
  UNION ALL SELECT p.currency, a.withheld_minor FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
    WHERE p.client_id = $1 AND {REVERSED} AND p.voided_on < $2
  UNION ALL SELECT currency, amount_minor FROM credit_refunds
    WHERE client_id = $1 AND refunded_on < $2) x
GROUP BY currency
"""

# the issuing entities the client deals with: every site that invoiced it up to the statement's end
ISSUERS_SQL = """
SELECT DISTINCT s.id, s.currency, s.code, s.name, s.legal_name, s.address, s.tax_id, s.invoice_footer
FROM sites s WHERE EXISTS (
  SELECT 1 FROM invoices i WHERE i.site_id = s.id AND i.client_id = $1 AND i.status <> 'draft' AND i.issue_date <= $2)
ORDER BY s.code
"""


async def statement(conn: Any, client_id: uuid.UUID, month: Month) -> dict[str, Any]:
    """Everything a statement shows, per currency."""
    client = await conn.fetchrow(
        """SELECT id, legal_name, billing_email, tax_id, payment_terms_days, tax_treatment, tax_exemption_reason,
                  tax_certificate_ref FROM clients WHERE id = $1""",
        client_id,
    )
    first, last = month.first, month.last
    invoices = await conn.fetch(
        """SELECT i.*, s.code AS site_code, s.name AS site_name FROM invoices i JOIN sites s ON s.id = i.site_id
           WHERE i.client_id = $1 AND i.status <> 'draft' AND i.issue_date BETWEEN $2 AND $3
           ORDER BY i.currency, i.issue_date, i.number_label""",
        client_id,
        first,
        last,
    )
    lines: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for r in await conn.fetch(
        """SELECT invoice_id, position, kind, trueup, description, quantity, unit_price_minor, days, period_days,
                  amount_minor, tax_minor, tax_treatment, tax_rate FROM invoice_lines WHERE invoice_id = ANY($1::uuid[])
           ORDER BY invoice_id, position""",
        [i["id"] for i in invoices],
    ):
        # an asyncpg Record iterates over its values, not its keys
        line = {k: r[k] for k in r.keys() if k != "invoice_id"}  # noqa: SIM118
        # a rate is a decimal string in every format, never a float
        line["tax_rate"] = None if r["tax_rate"] is None else str(r["tax_rate"].normalize())
        lines[r["invoice_id"]].append(line)
    notes = await conn.fetch(
        """SELECT c.id, c.number_label, c.kind, c.reason, c.currency, c.issue_date, c.amount_minor, c.tax_minor,
                  c.total_minor, i.number_label AS invoice_number
           FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
           WHERE c.client_id = $1 AND c.status = 'issued' AND c.issue_date BETWEEN $2 AND $3
           ORDER BY c.issue_date, c.number_label""",
        client_id,
        first,
        last,
    )
    payments = await conn.fetch(PAYMENTS_SQL, client_id, first, last)
    allocations: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for r in await conn.fetch(ALLOCATIONS_SQL, [p["id"] for p in payments]):
        allocations[r["payment_id"]].append({k: r[k] for k in ("invoice_number", "amount_minor", "withheld_minor")})
    withholdings = await conn.fetch(WITHHELD_SQL, client_id, first, last)
    refunds = await conn.fetch(REFUNDS_SQL, client_id, first, last)
    returns = await conn.fetch(RETURNS_SQL, client_id, first, last)
    issuers = await conn.fetch(ISSUERS_SQL, client_id, last)
    opening = {r["currency"]: int(r["balance"]) for r in await conn.fetch(OPENING_SQL, client_id, first)}
    aging = aging_of(await open_items(conn, last, client_id))
    currencies = sorted(
        set(opening)
        | {i["currency"] for i in invoices}
        | {n["currency"] for n in notes}
        | {p["currency"] for p in payments}
        | {x["currency"] for x in withholdings}
        | {x["currency"] for x in refunds}
        | {x["currency"] for x in returns}
        | set(aging)
    )
    sections = []
    for cur in currencies:
        inv = [i for i in invoices if i["currency"] == cur]
        invoiced = sum(i["total_minor"] for i in inv if i["status"] != "void")
        credited = sum(n["total_minor"] for n in notes if n["currency"] == cur)
        paid = sum(p["amount_minor"] for p in payments if p["currency"] == cur)
        withheld = sum(x["withheld_minor"] for x in withholdings if x["currency"] == cur)
        refunded = sum(x["amount_minor"] for x in refunds if x["currency"] == cur)
        returned = sum(x["amount_minor"] + x["withheld_minor"] for x in returns if x["currency"] == cur)
        open_ = opening.get(cur, 0)
        sections.append(
            {
                "currency": cur,
                "opening_balance_minor": open_,
                "invoiced_minor": invoiced,
                "credited_minor": credited,
                "paid_minor": paid,
                "withheld_minor": withheld,
                "refunded_minor": refunded,
                "returned_minor": returned,
                "closing_balance_minor": open_ + invoiced - credited - paid - withheld + refunded + returned,
                "issuers": [dict(x) for x in issuers if x["currency"] == cur],
                "invoices": [
                    {
                        "id": i["id"],
                        "number": i["number_label"],
                        "site_code": i["site_code"],
                        "period": i["period"],
                        "status": i["status"],
                        "issue_date": i["issue_date"],
                        "due_date": i["due_date"],
                        "subtotal_minor": i["subtotal_minor"],
                        "tax_minor": i["tax_minor"],
                        "total_minor": i["total_minor"],
                        "lines": lines[i["id"]],
                    }
                    for i in inv
                ],
                "credit_notes": [
                    {
                        k: n[k]
                        for k in (
                            "id",
                            "number_label",
                            "kind",
                            "reason",
                            "issue_date",
                            "amount_minor",
                            "tax_minor",
                            "total_minor",
                            "invoice_number",
                        )
                    }
                    for n in notes
                    if n["currency"] == cur
                ],
                "payments": [
                    {k: p[k] for k in ("id", "paid_on", "method", "reference", "amount_minor", "invoice_number")}
                    | {
                        "allocations": allocations[p["id"]],
                        "unallocated_minor": p["amount_minor"] - sum(a["amount_minor"] for a in allocations[p["id"]]),
                    }
                    for p in payments
                    if p["currency"] == cur
                ],
                "withholdings": [
                    {k: x[k] for k in ("payment_id", "withheld_on", "invoice_number", "withheld_minor")}
                    for x in withholdings
                    if x["currency"] == cur
                ],
                "refunds": [
                    {k: x[k] for k in ("id", "refunded_on", "method", "reference", "amount_minor")}
                    for x in refunds
                    if x["currency"] == cur
                ],
                "returns": [
                    {k: x[k] for k in ("id", "voided_on", "method", "reference", "amount_minor", "withheld_minor")}
                    for x in returns
                    if x["currency"] == cur
                ],
                "aging": aging.get(cur, dict.fromkeys(BUCKETS, 0) | {"total": 0}),
            }
        )
    return {
        "client": {
            "id": client["id"],
            "legal_name": client["legal_name"],
            "billing_email": client["billing_email"],
            "tax_id": client["tax_id"],
            "tax_treatment": client["tax_treatment"],
            "tax_exemption_reason": client["tax_exemption_reason"],
            "tax_certificate_ref": client["tax_certificate_ref"],
        },
        "issuers": [dict(x) for x in issuers],
        "period": str(month),
        "period_start": first,
        "period_end": last,
        "currencies": sections,
    }
