"""Where an invoice stands after payments and credits: the one rule that sets `issued`,
`partially_paid` or `paid`, and the figures it reads.

Every path that changes what settles an invoice calls `settle_invoice` in its own transaction, with
the invoice locked: a payment recorded here, a post-dated cheque clearing, a payment voided (a
bounced cheque), a credit note issued, the client's credit applied, and Stripe's webhook. Only
*cleared* payments settle; tax the client withheld (`withheld_minor`) settles like cash.

Works on the asyncpg connection of the session's transaction (billing/db.py `driver`), so the
webhook handler, the worker and the use-cases share it; its audit rows are written on that same
connection."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.models.invoice import InvoiceStatus
from domain.rules.money import tax_on
from domain.services.audit import Actor

# statuses whose balance payments and credits move; a draft is not owed yet and a void never is
SETTLEABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


def invoice_status(total_minor: int, credited_minor: int, settled_minor: int) -> InvoiceStatus:
    """The rule: what is left = total − issued credit notes − cleared allocations (cash + withheld).
    Something paid and nothing left is `paid`; something paid and something left is `partially_paid`;
    nothing paid is `issued`, however much was credited (an invoice credited in full owes nothing and
    leaves the aging, but nobody paid it: it is corrected, not paid)."""
    if settled_minor <= 0:
        return InvoiceStatus.ISSUED
    if total_minor - credited_minor - settled_minor <= 0:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID


def withholding_on(net_minor: int, rate: Decimal) -> int:
    """Tax a client withholds on an invoice: the rate × the invoice's amount before tax, rounded half
    up. The base (`Figures.withholding_left`) is the subtotal less deposit lines and less what credit
    notes took off before tax: Philippine expanded withholding tax on rent is computed on the rent
    exclusive of VAT (the VAT is not the lessor's income), and a refundable security deposit is not
    rent until it is applied."""
    if rate <= 0 or net_minor <= 0:
        return 0
    return tax_on(net_minor, rate)


@dataclass(frozen=True)
class Figures:
    """One invoice's money, as the rule and the validations read it."""

    id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    status: str
    total_minor: int
    subtotal_minor: int
    credited_minor: int  # issued credit notes, with tax
    credited_net_minor: int  # issued credit notes before tax, deposit refunds aside
    deposit_minor: int  # deposit lines: a refundable security, not rent
    settled_minor: int  # cleared allocations: cash + withheld
    held_minor: int  # allocations of held (post-dated) cheques
    withheld_minor: int  # withheld on cleared or held allocations
    stripe_invoice_id: str | None
    number_label: str | None

    @property
    def owed_minor(self) -> int:
        """What the invoice still asks for (cleared payments only)."""
        return max(0, self.total_minor - self.credited_minor - self.settled_minor)

    @property
    def open_minor(self) -> int:
        """What a new allocation may still take: held cheques are spoken for."""
        return max(0, self.owed_minor - self.held_minor)

    def withholding_left(self, rate: Decimal) -> int:
        due = withholding_on(self.subtotal_minor - self.deposit_minor - self.credited_net_minor, rate)
        return max(0, min(due - self.withheld_minor, self.open_minor))


FIGURES_SQL = """
SELECT i.id, i.client_id, i.currency, i.status, i.total_minor, i.subtotal_minor, i.stripe_invoice_id, i.number_label,
       coalesce(c.total, 0)::bigint AS credited_minor, coalesce(c.net, 0)::bigint AS credited_net_minor,
       coalesce((SELECT sum(l.amount_minor) FROM invoice_lines l WHERE l.invoice_id = i.id AND l.kind = 'deposit'), 0)::bigint
         AS deposit_minor,
       coalesce(a.settled, 0)::bigint AS settled_minor, coalesce(a.held, 0)::bigint AS held_minor,
       coalesce(a.withheld, 0)::bigint AS withheld_minor
FROM invoices i
LEFT JOIN LATERAL (SELECT sum(total_minor) AS total, sum(amount_minor) FILTER (WHERE kind <> 'deposit_refund') AS net
                   FROM credit_notes
                   WHERE invoice_id = i.id AND status = 'issued') c ON true
LEFT JOIN LATERAL (SELECT sum(a.amount_minor + a.withheld_minor) FILTER (WHERE p.status = 'cleared') AS settled,
                          sum(a.amount_minor + a.withheld_minor) FILTER (WHERE p.status = 'held') AS held,
                          sum(a.withheld_minor) FILTER (WHERE p.status IN ('cleared', 'held')) AS withheld
                   FROM payment_allocations a JOIN payments p ON p.id = a.payment_id WHERE a.invoice_id = i.id) a ON true
WHERE i.id = ANY($1::uuid[])
"""


async def figures(conn: Any, invoice_ids: list[uuid.UUID], *, lock: bool = False) -> dict[uuid.UUID, Figures]:
    """The invoices' figures; with `lock`, the invoices are locked first (in id order: no deadlock
    between two payments touching the same invoices)."""
    if lock and invoice_ids:
        await conn.execute("SELECT 1 FROM invoices WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", invoice_ids)
    rows = await conn.fetch(FIGURES_SQL, invoice_ids)
    return {r["id"]: Figures(**dict(r)) for r in rows}


async def audit(
    conn: Any,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    *,
    client_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event written on the transaction's own connection (the webhook handler and the worker
    have no ORM unit of work to add it to)."""
    await conn.execute(
        """INSERT INTO audit_events (actor_id, actor, action, object_type, object_id, client_id, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)""",
        actor.subject,
        actor.label,
        action,
        object_type,
        str(object_id),
        client_id,
        None if before is None else json.dumps(before, default=str),
        None if after is None else json.dumps(after, default=str),
    )


async def lock_client_credit(conn: Any, client_id: uuid.UUID, *, wait: bool = True) -> bool:
    """The lock under which a client's credit balance changes (payments, credit applied, refunds,
    voids): two refunds at once are serialised, so neither can spend what the other spent. `wait=False`
    (the webhook handler and the worker, which already hold an invoice or payment lock) only tries,
    so that no two transactions wait on each other in opposite orders."""
    key = f"seatlease-credit:{client_id}"
    if wait:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        return True
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", key))


async def _release_excess(conn: Any, actor: Actor, f: Figures) -> int:
    """A credit note issued after payments can leave an invoice over-settled: the newest cleared
    allocations give the excess back (cash first), so that it is the client's credit balance instead
    of vanishing into a paid invoice. Returns what was released."""
    excess = f.settled_minor - max(0, f.total_minor - f.credited_minor)
    released = 0
    if excess <= 0:
        return 0
    rows = await conn.fetch(
        """SELECT a.id, a.payment_id, a.amount_minor, a.withheld_minor FROM payment_allocations a
           JOIN payments p ON p.id = a.payment_id
           WHERE a.invoice_id = $1 AND p.status = 'cleared' ORDER BY a.created_at DESC, a.id DESC FOR UPDATE OF a""",
        f.id,
    )
    # cash first across the allocations (newest first), then withheld tax: what is given back is money
    cuts: dict[Any, list[int]] = {r["id"]: [0, 0] for r in rows}
    for column, slot in (("amount_minor", 0), ("withheld_minor", 1)):
        for r in rows:
            take = min(excess, r[column])
            cuts[r["id"]][slot] = take
            excess -= take
    for r in rows:
        cash, withheld = cuts[r["id"]]
        if cash + withheld == 0:
            continue
        amount, kept_withheld = r["amount_minor"] - cash, r["withheld_minor"] - withheld
        if amount + kept_withheld == 0:
            await conn.execute("DELETE FROM payment_allocations WHERE id = $1", r["id"])
        else:
            await conn.execute(
                "UPDATE payment_allocations SET amount_minor = $2, withheld_minor = $3 WHERE id = $1",
                r["id"],
                amount,
                kept_withheld,
            )
        released += cash + withheld
        await audit(
            conn,
            actor,
            "payment_allocation.release",
            "payment",
            r["payment_id"],
            client_id=f.client_id,
            before={"invoice_id": f.id, "amount_minor": r["amount_minor"], "withheld_minor": r["withheld_minor"]},
            after={"invoice_id": f.id, "amount_minor": amount, "withheld_minor": kept_withheld},
        )
    return released


async def settle_invoice(
    conn: Any,
    actor: Actor,
    invoice_id: uuid.UUID,
    *,
    when: datetime | None = None,
    stripe_says_paid: bool = False,
    why: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """Apply the rule to one (locked) invoice and record the change. Returns (before, after).

    When an invoice that lives in Stripe becomes paid here, a `stripe_payment_syncs` row asks the
    worker to mark it paid out of band there (unless Stripe itself says paid); when it stops being
    paid before that push, the push is cancelled, and after it, the invoice is flagged for finance
    (Stripe cannot un-pay an invoice)."""
    f = (await figures(conn, [invoice_id], lock=True))[invoice_id]
    if f.status not in SETTLEABLE:
        return f.status, f.status
    if await _release_excess(conn, actor, f):
        f = (await figures(conn, [invoice_id]))[invoice_id]
    new = invoice_status(f.total_minor, f.credited_minor, f.settled_minor)
    if new == f.status:
        return f.status, f.status
    await conn.execute(
        """UPDATE invoices SET status = $2::text,
                  paid_at = CASE WHEN $2::text = 'paid' THEN coalesce($3::timestamptz, now()) ELSE NULL END WHERE id = $1""",
        invoice_id,
        str(new),
        when,
    )
    action = "invoice.paid" if new == InvoiceStatus.PAID else f"invoice.{new}"
    await audit(
        conn,
        actor,
        action,
        "invoice",
        invoice_id,
        client_id=f.client_id,
        before={"status": f.status},
        after={"status": str(new), "settled_minor": f.settled_minor, "credited_minor": f.credited_minor, **(why or {})},
    )
    if f.stripe_invoice_id is not None:
        if new == InvoiceStatus.PAID and not stripe_says_paid:
            await conn.execute(
                """INSERT INTO stripe_payment_syncs (invoice_id) VALUES ($1)
                   ON CONFLICT (invoice_id) DO UPDATE SET state = 'pending', attempts = 0, next_attempt_at = now(),
                          last_error = NULL WHERE stripe_payment_syncs.state IN ('cancelled', 'failed')""",
                invoice_id,
            )
        elif f.status == InvoiceStatus.PAID:
            cancelled = await conn.fetchval(
                "UPDATE stripe_payment_syncs SET state = 'cancelled' WHERE invoice_id = $1 AND state = 'pending' RETURNING 1",
                invoice_id,
            )
            if not cancelled:
                await conn.execute(
                    "UPDATE invoices SET stripe_mismatch = true, stripe_last_error = $2 WHERE id = $1",
                    invoice_id,
                    "paid in Stripe, but no longer settled here (a payment was voided): refund or re-collect in Stripe",
                )
    return f.status, str(new)


async def settle_many(conn: Any, actor: Actor, invoice_ids: list[uuid.UUID]) -> None:
    """`settle_invoice` on each invoice a batch corrected (a run's true-up and deposit credit notes)."""
    for invoice_id in sorted(set(invoice_ids)):
        await settle_invoice(conn, actor, invoice_id, why={"credit_note": True})
