"""Payments as they really arrive (issue 12): money received by bank transfer, cheque, cash or card,
allocated to one or several of the client's open invoices, in full or in part, net of tax withheld;
the rest is the client's credit balance, applied later or refunded. A post-dated cheque is `held`
until its date (billing/payment_worker.py clears it); a bounced one is voided and lets go of what it
paid. Stripe's payments arrive through the webhook (billing/webhooks.py).

Each use-case validates, writes, audits and settles the invoices it touched (billing/settlement.py)
in the caller's transaction. A client's credit balance changes only under its credit lock
(`lock_client_credit`), so two refunds at once never overdraw it; invoices are locked in id order
before their figures are read, so two payments never over-allocate one invoice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from billing.db import driver
from billing.payment_schemas import AllocationIn, CertificateCreate, CreditApply, PaymentCreate, RefundCreate
from billing.settlement import OPEN, Figures, audit, figures, lock_client_credit, settle_invoice
from domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from domain.rules.money import format_money, is_currency
from domain.services.audit import Actor


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    amount_minor: int
    withheld_minor: int


async def site_today(conn: Any, currency: str) -> date:
    """Today on the calendar of the sites that bill in this currency: the latest of their dates (UTC's
    when none does), so that a payment dated today at any of them is never "in the future"."""
    zones = [r["timezone"] for r in await conn.fetch("SELECT DISTINCT timezone FROM sites WHERE currency = $1", currency)]
    return max(datetime.now(ZoneInfo(tz)).date() for tz in zones or ["UTC"])


def _check_currency(currency: str) -> None:
    if not is_currency(currency):
        raise ValidationFailed(f"{currency} is not an active ISO 4217 currency", field="currency")


async def _client(conn: Any, client_id: uuid.UUID) -> Any:
    row = await conn.fetchrow("SELECT id, legal_name, withholding_rate FROM clients WHERE id = $1", client_id)
    if row is None:
        raise NotFound("client not found")
    return row


async def open_invoices(conn: Any, client_id: uuid.UUID, currency: str) -> list[uuid.UUID]:
    """The client's open invoices of a currency, oldest due first: the default order of allocation."""
    rows = await conn.fetch(
        """SELECT id FROM invoices WHERE client_id = $1 AND currency = $2 AND status IN ('issued', 'partially_paid')
           ORDER BY due_date NULLS LAST, issue_date, number, id""",
        client_id,
        currency,
    )
    return [r["id"] for r in rows]


def _plan_default(figs: list[Figures], cash: int, rate: Decimal) -> list[Allocation]:
    """Oldest due first: each invoice settled in full (net of the client's withholding) while the
    money lasts, the last one in part."""
    out = []
    for f in figs:
        if cash <= 0:
            break
        withheld = f.withholding_left(rate)
        need = f.open_minor - withheld
        if need <= 0 and withheld <= 0:
            continue
        if cash >= need:
            out.append(Allocation(f.id, need, withheld))
            cash -= need
        else:
            out.append(Allocation(f.id, cash, 0))
            cash = 0
    return [a for a in out if a.amount_minor + a.withheld_minor > 0]


async def _plan(
    conn: Any, client: Any, currency: str, cash: int, given: list[AllocationIn] | None, field: str, *, credit: bool = False
) -> tuple[list[Allocation], dict[uuid.UUID, Figures]]:
    """Validate the allocations asked for (or make the default ones) against the locked invoices."""
    rate = Decimal(client["withholding_rate"])
    if given is None:
        ids = await open_invoices(conn, client["id"], currency)
        figs = await figures(conn, ids, lock=True)
        return _plan_default([figs[i] for i in ids if i in figs], cash, rate), figs
    ids = [a.invoice_id for a in given]
    for n, a in enumerate(given):
        if ids.index(a.invoice_id) != n:
            raise ValidationFailed("an invoice appears twice", field=f"{field}[{n}].invoice_id")
    figs = await figures(conn, ids, lock=True)
    plan = []
    for n, a in enumerate(given):
        where = f"{field}[{n}]"
        f = figs.get(a.invoice_id)
        if f is None or f.client_id != client["id"]:
            raise NotFound("invoice not found", field=f"{where}.invoice_id")
        if f.currency != currency:
            raise ValidationFailed(f"the invoice is in {f.currency}, the payment in {currency}", field=f"{where}.invoice_id")
        if f.status not in OPEN:
            raise InvalidState(f"invoice {f.number_label} is {f.status}: nothing is owed on it", field=f"{where}.invoice_id")
        withheld = a.withheld_minor
        if withheld is None:
            due = f.withholding_left(rate)
            withheld = due if due and a.amount_minor == f.open_minor - due else 0
        if a.amount_minor + withheld <= 0:
            raise ValidationFailed("allocate an amount greater than zero", field=f"{where}.amount_minor")
        if a.amount_minor + withheld > f.open_minor:
            raise ValidationFailed(
                f"invoice {f.number_label} still owes {format_money(f.open_minor, currency)} ({f.open_minor}); "
                f"{a.amount_minor + withheld} is more",
                field=f"{where}.amount_minor",
                owed_minor=f.open_minor,
            )
        plan.append(Allocation(a.invoice_id, a.amount_minor, withheld))
    allocated = sum(a.amount_minor for a in plan)
    if allocated > cash:
        # more than the payment is a bad request; more than the client's credit is its state (409)
        raise (Conflict if credit else ValidationFailed)(
            f"the allocations ({allocated}) are more than the money available ({cash})", field=field, available_minor=cash
        )
    return plan, figs


async def _insert_allocations(conn: Any, actor: Actor, payment_id: uuid.UUID, plan: list[Allocation], on: date) -> None:
    if plan:
        await conn.executemany(
            """INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor, withheld_minor, allocated_on, created_by)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            [(payment_id, a.invoice_id, a.amount_minor, a.withheld_minor, on, actor.subject) for a in plan],
        )


async def record_payment(session: Any, actor: Actor, body: PaymentCreate) -> uuid.UUID:
    """Money received. A cheque dated after today is `held`: recorded with its allocations, it settles
    nothing until the worker clears it on its date. Returns the payment's id."""
    conn = await driver(session)
    _check_currency(body.currency)
    client = await _client(conn, body.client_id)
    today = await site_today(conn, body.currency)
    held = body.method == "cheque" and body.paid_on > today
    if body.paid_on > today and not held:
        raise ValidationFailed("only a cheque may be dated after today (a post-dated cheque)", field="paid_on")
    await lock_client_credit(conn, client["id"])
    plan, _ = await _plan(conn, client, body.currency, body.amount_minor, body.allocations, "allocations")
    payment_id = uuid.uuid4()
    status = "held" if held else "cleared"
    await conn.execute(
        """INSERT INTO payments (id, client_id, amount_minor, currency, paid_on, method, status, reference, received_on,
                                 recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        payment_id,
        client["id"],
        body.amount_minor,
        body.currency,
        body.paid_on,
        body.method,
        status,
        body.reference,
        body.received_on or today,
        actor.subject,
    )
    await _insert_allocations(conn, actor, payment_id, plan, body.paid_on)
    await audit(
        conn,
        actor,
        "payment.record",
        "payment",
        payment_id,
        client_id=client["id"],
        after={
            **body.model_dump(mode="json", exclude={"allocations"}),
            "status": status,
            "allocations": [a.__dict__ for a in plan],
        },
    )
    if not held:
        for a in plan:
            await settle_invoice(conn, actor, a.invoice_id, why={"payment_id": str(payment_id)})
    return payment_id


async def _payment_for_update(conn: Any, payment_id: uuid.UUID) -> Any:
    row = await conn.fetchrow("SELECT id, client_id FROM payments WHERE id = $1", payment_id)
    if row is None:
        raise NotFound("payment not found")
    await lock_client_credit(conn, row["client_id"])
    return await conn.fetchrow("SELECT * FROM payments WHERE id = $1 FOR UPDATE", payment_id)


async def void_payment(session: Any, actor: Actor, payment_id: uuid.UUID, reason: str) -> uuid.UUID:
    """A bounced cheque or a payment recorded by mistake: it stops counting, its allocations let go
    of the invoices they paid (which go back to issued or partly paid), and its credit goes."""
    conn = await driver(session)
    p = await _payment_for_update(conn, payment_id)
    if p["method"] == "stripe":
        raise InvalidState("a Stripe payment is refunded in Stripe, not voided here", field="payment_id")
    if p["status"] == "void":
        raise InvalidState("the payment is already void", field="payment_id")
    invoice_ids = [
        r["invoice_id"] for r in await conn.fetch("SELECT invoice_id FROM payment_allocations WHERE payment_id = $1", p["id"])
    ]
    await figures(conn, invoice_ids, lock=True)
    # the day and the status it leaves: a cleared payment was posted, so the journal reverses it then
    voided_on = await site_today(conn, p["currency"])
    await conn.execute(
        "UPDATE payments SET status = 'void', voided_on = $2, voided_from = $3 WHERE id = $1", p["id"], voided_on, p["status"]
    )
    await audit(
        conn,
        actor,
        "payment.void",
        "payment",
        p["id"],
        client_id=p["client_id"],
        before={"status": p["status"]},
        after={"status": "void", "reason": reason, "voided_on": voided_on.isoformat()},
    )
    for invoice_id in sorted(set(invoice_ids)):
        await settle_invoice(conn, actor, invoice_id, why={"payment_id": str(p["id"]), "voided": reason})
    return p["id"]


CREDIT_SQL = """
SELECT currency, sum(amount)::bigint AS credit FROM (
  SELECT currency, amount_minor AS amount FROM payments WHERE client_id = $1 AND status = 'cleared'
  UNION ALL SELECT p.currency, -a.amount_minor FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
            WHERE p.client_id = $1 AND p.status = 'cleared'
  UNION ALL SELECT currency, -amount_minor FROM credit_refunds WHERE client_id = $1) x
GROUP BY currency
"""


async def credit_balances(conn: Any, client_id: uuid.UUID) -> dict[str, int]:
    """Per currency: received (cleared) and not allocated, less what was refunded."""
    return {r["currency"]: int(r["credit"]) for r in await conn.fetch(CREDIT_SQL, client_id)}


async def _spend_credit(conn: Any, actor: Actor, client_id: uuid.UUID, currency: str, plan: list[Allocation], on: date) -> None:
    """Allocations of credit come out of the client's payments that still have money unallocated,
    oldest first (each allocation names the payment its money came from)."""
    sources = await conn.fetch(
        """SELECT p.id, p.amount_minor - coalesce((SELECT sum(a.amount_minor) FROM payment_allocations a
                                                    WHERE a.payment_id = p.id), 0) AS free
           FROM payments p WHERE p.client_id = $1 AND p.currency = $2 AND p.status = 'cleared'
           ORDER BY p.paid_on, p.created_at, p.id FOR UPDATE""",
        client_id,
        currency,
    )
    pool = [[r["id"], int(r["free"])] for r in sources if r["free"] > 0]
    for a in plan:
        cash, withheld = a.amount_minor, a.withheld_minor
        while cash > 0 or withheld > 0:
            if not pool:
                raise Conflict("the credit balance changed while it was applied; try again")
            take = min(cash, pool[0][1])
            await _insert_allocations(conn, actor, pool[0][0], [Allocation(a.invoice_id, take, withheld)], on)
            pool[0][1] -= take
            cash -= take
            withheld = 0
            if pool[0][1] == 0:
                pool.pop(0)


async def apply_credit(session: Any, actor: Actor, client_id: uuid.UUID, body: CreditApply) -> list[Allocation]:
    """The client's credit balance of a currency applied to chosen invoices, or to its open invoices
    oldest due first. Returns what was applied (nothing when there is no credit or nothing open)."""
    conn = await driver(session)
    _check_currency(body.currency)
    client = await _client(conn, client_id)
    await lock_client_credit(conn, client_id)
    credit = (await credit_balances(conn, client_id)).get(body.currency, 0)
    plan, _ = await _plan(conn, client, body.currency, max(0, credit), body.allocations, "allocations", credit=True)
    if not plan:
        return []
    today = await site_today(conn, body.currency)
    await _spend_credit(conn, actor, client_id, body.currency, plan, today)
    await audit(
        conn,
        actor,
        "credit.apply",
        "client",
        client_id,
        client_id=client_id,
        before={"credit_minor": credit, "currency": body.currency},
        after={"allocations": [a.__dict__ for a in plan]},
    )
    for a in plan:
        await settle_invoice(conn, actor, a.invoice_id, why={"credit_applied": True})
    return plan


async def refund_credit(session: Any, actor: Actor, client_id: uuid.UUID, body: RefundCreate) -> uuid.UUID:
    """Pay part of the client's credit balance back: never more than the balance, even when two
    refunds are asked for at once (the credit lock makes the second one read the first's result)."""
    conn = await driver(session)
    _check_currency(body.currency)
    await _client(conn, client_id)
    await lock_client_credit(conn, client_id)
    credit = (await credit_balances(conn, client_id)).get(body.currency, 0)
    if body.amount_minor > credit:
        # the balance, not the request, is short: a conflict with the client's state (409), naming the field
        raise Conflict(
            f"the client's credit balance is {format_money(max(0, credit), body.currency)}; {body.amount_minor} is more",
            field="amount_minor",
            credit_minor=credit,
        )
    refund_id = uuid.uuid4()
    on = body.refunded_on or await site_today(conn, body.currency)
    await conn.execute(
        """INSERT INTO credit_refunds (id, client_id, currency, amount_minor, refunded_on, method, reference, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        refund_id,
        client_id,
        body.currency,
        body.amount_minor,
        on,
        body.method,
        body.reference,
        actor.subject,
    )
    await audit(
        conn,
        actor,
        "credit.refund",
        "credit_refund",
        refund_id,
        client_id=client_id,
        before={"credit_minor": credit},
        after={**body.model_dump(mode="json"), "refunded_on": on.isoformat()},
    )
    return refund_id


async def record_certificate(session: Any, actor: Actor, client_id: uuid.UUID, body: CertificateCreate) -> uuid.UUID:
    """Finance marks a client's withholding certificate (BIR Form 2307) received for a quarter: once
    per client and quarter (409 for a second)."""
    conn = await driver(session)
    await _client(conn, client_id)
    cert_id = await conn.fetchval(
        """INSERT INTO withholding_certificates (id, client_id, year, quarter, received_on, reference, recorded_by)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6) ON CONFLICT (client_id, year, quarter) DO NOTHING RETURNING id""",
        client_id,
        body.year,
        body.quarter,
        body.received_on,
        body.reference,
        actor.subject,
    )
    if cert_id is None:
        raise Conflict(f"the certificate for {body.year} Q{body.quarter} is already recorded", field="quarter")
    await audit(
        conn, actor, "withholding_certificate.record", "withholding_certificate", cert_id, client_id=client_id,
        after=body.model_dump(mode="json"),
    )  # fmt: skip
    return uuid.UUID(str(cert_id))
