"""Helpers of the document tests: the issuing entity, a client's tax treatment, a long invoice, money
received (payments and their allocations, written in SQL as the payments part's tables hold them),
and the text of a PDF as poppler reads it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.factories import Api

ISSUER = {
    "legal_name": "Seatlease Makati Holdings, Inc.",
    "address": "12F Tower One, Ayala Avenue\nMakati City 1226, Philippines",
    "tax_id": "009-876-543-000",
    "invoice_footer": "BIR Permit No. 0420-116-00042 · ATP valid until 2031-12-31",
}


async def set_issuer(staff: Api, site_id: str, **over: str) -> dict[str, Any]:
    body = {**ISSUER, **over}
    r = await staff.call("PATCH", f"/v1/sites/{site_id}", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def set_client_tax(db: asyncpg.Pool, client_id: str, treatment: str, reason: str = "", certificate: str = "") -> None:
    await db.execute(
        "UPDATE clients SET tax_treatment = $2, tax_exemption_reason = $3, tax_certificate_ref = $4 WHERE id = $1",
        uuid.UUID(client_id),
        treatment,
        reason,
        certificate,
    )


async def add_lines(db: asyncpg.Pool, invoice_id: str, lines: list[tuple[str, str, int, int | None]]) -> None:
    """Append one-off lines `(description, treatment, amount_minor, tax_minor)` to an invoice and keep its totals
    the sums of its lines (a long invoice, as a big client's month makes)."""
    inv = uuid.UUID(invoice_id)
    async with db.acquire() as conn, conn.transaction():
        start = await conn.fetchval("SELECT coalesce(max(position), 0) FROM invoice_lines WHERE invoice_id = $1", inv)
        for i, (desc, treatment, amount, tax) in enumerate(lines, start=start + 1):
            rate = "0.12" if treatment == "standard" else "0"
            await conn.execute(
                """INSERT INTO invoice_lines (id, invoice_id, position, kind, description, quantity, unit_price_minor,
                       amount_minor, tax_minor, tax_treatment, tax_rate, reason)
                   VALUES (gen_random_uuid(), $1, $2, 'one_off', $3, 1, $4, $4, $5, $6, $7::numeric, 'test')""",
                inv,
                i,
                desc,
                amount,
                tax if tax is not None else 0,
                treatment,
                rate,
            )
        await conn.execute(
            """UPDATE invoices i SET subtotal_minor = l.a, tax_minor = l.t, total_minor = l.a + l.t
               FROM (SELECT sum(amount_minor) a, sum(tax_minor) t FROM invoice_lines WHERE invoice_id = $1) l
               WHERE i.id = $1""",
            inv,
        )


async def receive(
    db: asyncpg.Pool,
    client_id: str,
    currency: str,
    paid_on: str,
    allocations: list[tuple[str, int, int]],
    *,
    extra_minor: int = 0,
    status: str = "cleared",
    method: str = "bank_transfer",
    reference: str = "",
) -> uuid.UUID:
    """A payment of the allocations `(invoice_id, amount_minor, withheld_minor)` plus `extra_minor` left unallocated
    (the client's credit balance)."""
    from datetime import date

    pid = uuid.uuid4()
    day = date.fromisoformat(paid_on)
    total = sum(a for _, a, _ in allocations) + extra_minor
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO payments (id, client_id, amount_minor, currency, paid_on, method, status, reference, received_on)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)""",
            pid,
            uuid.UUID(client_id),
            total,
            currency,
            day,
            method,
            status,
            reference,
        )
        for inv, amount, withheld in allocations:
            await conn.execute(
                """INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor, withheld_minor, allocated_on)
                   VALUES ($1, $2, $3, $4, $5)""",
                pid,
                uuid.UUID(inv),
                amount,
                withheld,
                day,
            )
    return pid


async def refund(db: asyncpg.Pool, client_id: str, currency: str, day: str, amount_minor: int) -> None:
    from datetime import date

    await db.execute(
        """INSERT INTO credit_refunds (client_id, currency, amount_minor, refunded_on, method, reference)
           VALUES ($1, $2, $3, $4, 'bank_transfer', 'refund of credit')""",
        uuid.UUID(client_id),
        currency,
        amount_minor,
        date.fromisoformat(day),
    )


async def pdf_text(pdf: bytes, folder: Path) -> str:
    """The PDF's text laid out as on the page (pages separated by form feeds)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    path = folder / f"{uuid.uuid4().hex}.pdf"
    await asyncio.to_thread(path.write_bytes, pdf)
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout
