"""Receivables written straight into the database for the journal and dunning tests: a site and a
client through the API, then invoices dated exactly as a test needs, credit notes, payments (money
received, held cheques, voids), their allocations with tax withheld, and refunds of credit, as the
payments part of issue 12 will write them (its API is built beside these tests)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from tests.factories import Api, uniq

_numbers = itertools.count(1)


@dataclass
class Party:
    site: dict[str, Any]
    client: dict[str, Any]

    @property
    def site_id(self) -> uuid.UUID:
        return uuid.UUID(self.site["id"])

    @property
    def client_id(self) -> uuid.UUID:
        return uuid.UUID(self.client["id"])


async def make_party(
    staff: Api, *, currency: str = "PHP", timezone: str = "Asia/Manila", client_id: str | None = None, email: str | None = None
) -> Party:
    code = uniq("C")
    site = await staff.post(
        "/v1/sites", {"code": code, "name": f"Site {code}", "timezone": timezone, "currency": currency, "tax_rate": "0.12"}
    )
    if client_id is not None:
        client = await staff.get(f"/v1/clients/{client_id}")
    else:
        client = await staff.post(
            "/v1/clients",
            {
                "legal_name": f"Collections {uniq()} Corp.",
                "billing_email": email or f"ap-{uniq().lower()}@client-example.com",
                "payment_terms_days": 30,
            },
        )
    return Party(site, client)


async def invoice(
    db: asyncpg.Pool,
    p: Party,
    *,
    issue: date,
    due: date | None = None,
    seat_minor: int = 100_000,
    deposit_minor: int = 0,
    status: str = "issued",
    voided_on: date | None = None,
) -> dict[str, Any]:
    """An issued invoice of one seat line (taxed at 12%) and an optional deposit line (untaxed)."""
    inv_id, n = uuid.uuid4(), next(_numbers)
    tax = seat_minor * 12 // 100
    total = seat_minor + tax + deposit_minor
    label = f"{p.site['code']}-{n:06d}"
    # noon on the site's day is that day in any site's calendar
    voided_at = datetime.combine(voided_on, time(12), ZoneInfo(p.site["timezone"])) if voided_on else None
    await db.execute(
        """INSERT INTO invoices (id, client_id, site_id, period, kind, currency, status, number, number_label, issue_date,
                                 due_date, issued_at, subtotal_minor, tax_minor, total_minor, voided_at, stripe_state)
           VALUES ($1, $2, $3, $4, 'one_off', $5, $6, $7, $8, $9, $10, now(), $11, $12, $13, $14, 'synced')""",
        inv_id,
        p.client_id,
        p.site_id,
        issue.strftime("%Y-%m"),
        p.site["currency"],
        status,
        n,
        label,
        issue,
        due or issue,
        seat_minor + deposit_minor,
        tax,
        total,
        voided_at,
    )
    lines = [("seat", "Seat, one month", seat_minor, tax)]
    if deposit_minor:
        lines.append(("deposit", "Deposit", deposit_minor, 0))
    for pos, (kind, text, amount, line_tax) in enumerate(lines, 1):
        await db.execute(
            """INSERT INTO invoice_lines (id, invoice_id, position, kind, description, quantity, unit_price_minor,
                                          amount_minor, tax_minor, tax_rate)
               VALUES (gen_random_uuid(), $1, $2, $3, $4, 1, $5, $5, $6, $7)""",
            inv_id,
            pos,
            kind,
            text,
            amount,
            line_tax,
            0.12 if line_tax else 0,
        )
    return {"id": inv_id, "number": label, "total_minor": total, "tax_minor": tax, "currency": p.site["currency"]}


async def credit_note(db: asyncpg.Pool, p: Party, inv: dict[str, Any], *, on: date, amount_minor: int) -> str:
    n = next(_numbers)
    label = f"{p.site['code']}-CN-{n:06d}"
    tax = amount_minor * 12 // 100
    await db.execute(
        """INSERT INTO credit_notes (id, invoice_id, client_id, site_id, currency, kind, status, number, number_label, reason,
                                     amount_minor, tax_minor, total_minor, issue_date, issued_at, stripe_state)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, 'manual', 'issued', $5, $6, 'goodwill', $7, $8, $9, $10, now(),
                   'synced')""",
        inv["id"],
        p.client_id,
        p.site_id,
        p.site["currency"],
        n,
        label,
        amount_minor,
        tax,
        amount_minor + tax,
        on,
    )
    return label


async def payment(
    db: asyncpg.Pool,
    p: Party,
    *,
    on: date,
    amount_minor: int,
    method: str = "bank_transfer",
    status: str = "cleared",
    reference: str = "",
    allocations: Sequence[tuple[dict[str, Any], int, int, date | None]] = (),
) -> uuid.UUID:
    """Money received, with what it pays: (invoice, amount, withheld, allocated on (None: the payment's day))."""
    pay_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO payments (id, client_id, amount_minor, currency, paid_on, method, status, reference, received_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)""",
        pay_id,
        p.client_id,
        amount_minor,
        p.site["currency"],
        on,
        method,
        status,
        reference or uniq("REF-"),
    )
    for inv, amount, withheld, day in allocations:
        await allocate(db, pay_id, inv, amount, withheld, day or on)
    return pay_id


async def allocate(db: asyncpg.Pool, payment_id: uuid.UUID, inv: dict[str, Any], amount: int, withheld: int, on: date) -> None:
    await db.execute(
        """INSERT INTO payment_allocations (id, payment_id, invoice_id, amount_minor, withheld_minor, allocated_on)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)""",
        payment_id,
        inv["id"],
        amount,
        withheld,
        on,
    )


async def refund(db: asyncpg.Pool, p: Party, *, on: date, amount_minor: int, method: str = "bank_transfer") -> None:
    await db.execute(
        """INSERT INTO credit_refunds (id, client_id, currency, amount_minor, refunded_on, method, reference)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)""",
        p.client_id,
        p.site["currency"],
        amount_minor,
        on,
        method,
        uniq("RF-"),
    )
