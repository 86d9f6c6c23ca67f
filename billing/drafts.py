"""Drafts and one-off invoices (issue 12): finance reviews a run's drafts (under the draft-review
setting), adds or removes one-off lines with their reason, raises one-off invoices outside the monthly
run, and issues drafts in bulk.

Issuing is the one place a draft takes its number and its dates: the drafts are locked in id order
(two bulk issues of overlapping selections wait for each other instead of deadlocking), those another
request issued meanwhile are left as they are (a double click issues once), and the sites' counters
are locked, so numbers follow issue order without gaps. An invoice is dated the day it is issued on
its site's calendar and due that day plus the client's payment terms; it still covers its period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import calc
from billing.db import driver
from billing.draft_schemas import OneOffInvoiceCreate, OneOffLineCreate
from billing.facts import Line, Month
from billing.numbering import next_numbers, save_numbers
from billing.run_batch import DRAFT_PUSH_PARKED, Batch, carry_excess_if_any, write_notes
from domain.errors import InvalidState, NotFound
from domain.models import Client, Lease, Site
from domain.models.invoice import Invoice, InvoiceLine
from domain.rules.money import line_tax_rate, tax_on
from domain.rules.timezones import local_day
from domain.services.audit import Actor, record, record_many, snapshot


async def _now(session: AsyncSession) -> datetime:
    """The transaction's time: every document issued in one request is issued at the same instant."""
    now = await session.scalar(select(func.now()))
    assert now is not None
    return now


async def _locked_draft(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    inv = await session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if inv is None:
        raise NotFound("invoice not found")
    if inv.status != "draft":
        raise InvalidState(f"the invoice is {inv.status}; only a draft can be changed (correct an issued one by credit note)")
    return inv


async def _lines(session: AsyncSession, invoice_id: uuid.UUID) -> list[InvoiceLine]:
    return list(
        (
            await session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position))
        ).all()
    )


async def _one_off_line(
    session: AsyncSession, actor: Actor, client: Client, site: Site, body: OneOffLineCreate, invoice_id: uuid.UUID, position: int
) -> InvoiceLine:
    if body.lease_id is not None:
        lease = await session.get(Lease, body.lease_id)
        if lease is None or lease.client_id != client.id or lease.site_id != site.id:
            raise NotFound("no such lease of this client at this site", field="lease_id")
    treatment = body.tax_treatment or client.tax_treatment
    rate = line_tax_rate(treatment, Decimal(site.tax_rate))
    amount = body.unit_price_minor * body.quantity
    return InvoiceLine(
        id=uuid.uuid4(),
        invoice_id=invoice_id,
        position=position,
        kind="one_off",
        trueup=False,
        lease_id=body.lease_id,
        description=body.description,
        quantity=body.quantity,
        unit_price_minor=body.unit_price_minor,
        amount_minor=amount,
        tax_minor=tax_on(amount, rate),
        units=0,
        tax_treatment=treatment,
        tax_rate=rate,
        reason=body.reason,
        created_by=actor.subject,
    )


def _total(inv: Invoice, lines: list[InvoiceLine]) -> None:
    t = calc.totals(Line(x.kind, x.description, x.quantity, x.unit_price_minor, x.amount_minor, x.tax_minor) for x in lines)
    inv.subtotal_minor, inv.tax_minor, inv.total_minor = t.subtotal_minor, t.tax_minor, t.total_minor


async def create_one_off_invoice(session: AsyncSession, actor: Actor, body: OneOffInvoiceCreate) -> Invoice:
    """An invoice outside the monthly run (kind `one_off`) for a client at a site: issued at once, or a draft."""
    client = await session.get(Client, body.client_id)
    if client is None:
        raise NotFound("client not found", field="client_id")
    site = await session.get(Site, body.site_id)
    if site is None:
        raise NotFound("site not found", field="site_id")
    today = local_day(await _now(session), site.timezone)
    inv = Invoice(
        id=uuid.uuid4(),
        client_id=client.id,
        site_id=site.id,
        period=str(Month.of(today)),
        kind="one_off",
        currency=site.currency,
        status="draft",
        subtotal_minor=0,
        tax_minor=0,
        total_minor=0,
        stripe_next_attempt_at=DRAFT_PUSH_PARKED,
    )
    session.add(inv)
    await session.flush()
    lines = []
    for pos, spec in enumerate(body.lines, start=1):
        line = await _one_off_line(session, actor, client, site, spec, inv.id, pos)
        session.add(line)
        lines.append(line)
    _total(inv, lines)
    await session.flush()
    await record(session, actor, "invoice.create_one_off", "invoice", inv.id, after=snapshot(inv), client_id=client.id)
    if body.issue:
        (inv,) = await issue_drafts(session, actor, [inv.id])
    return inv


async def add_one_off_line(session: AsyncSession, actor: Actor, invoice_id: uuid.UUID, body: OneOffLineCreate) -> InvoiceLine:
    """A one-off line with its reason on a draft (a run's or a one-off invoice); the draft's totals follow."""
    inv = await _locked_draft(session, invoice_id)
    client = await session.get_one(Client, inv.client_id)
    site = await session.get_one(Site, inv.site_id)
    lines = await _lines(session, inv.id)
    before = snapshot(inv)
    line = await _one_off_line(session, actor, client, site, body, inv.id, max((x.position for x in lines), default=0) + 1)
    session.add(line)
    _total(inv, [*lines, line])
    await session.flush()
    await record(
        session,
        actor,
        "invoice.add_line",
        "invoice",
        inv.id,
        before=before,
        after={**snapshot(inv), "line": snapshot(line)},
        client_id=inv.client_id,
    )
    return line


async def remove_one_off_line(session: AsyncSession, actor: Actor, invoice_id: uuid.UUID, line_id: uuid.UUID) -> Invoice:
    """Take a one-off line off a draft. The run's own lines stay: they are what the leases owe."""
    inv = await _locked_draft(session, invoice_id)
    lines = await _lines(session, inv.id)
    line = next((x for x in lines if x.id == line_id), None)
    if line is None:
        raise NotFound("invoice line not found")
    if line.kind != "one_off":
        raise InvalidState("only a one-off line can be removed; the run's lines are what the leases owe")
    before = {**snapshot(inv), "line": snapshot(line)}
    await session.delete(line)
    _total(inv, [x for x in lines if x.id != line_id])
    await session.flush()
    await record(
        session, actor, "invoice.remove_line", "invoice", inv.id, before=before, after=snapshot(inv), client_id=inv.client_id
    )
    return inv


async def discard_draft(session: AsyncSession, actor: Actor, invoice_id: uuid.UUID) -> None:
    """Delete a one-off invoice kept as a draft (raised by mistake): it took no number, so nothing is
    lost. A run's draft stays: it is what the leases owe (adjust it with one-off lines)."""
    inv = await _locked_draft(session, invoice_id)
    if inv.kind != "one_off":
        raise InvalidState("a monthly run's draft is what the leases owe: adjust it, then issue it")
    before = {**snapshot(inv), "lines": [snapshot(x) for x in await _lines(session, inv.id)]}
    await session.delete(inv)
    await session.flush()
    await record(session, actor, "invoice.discard", "invoice", invoice_id, before=before, client_id=inv.client_id)


async def issue_drafts(session: AsyncSession, actor: Actor, invoice_ids: list[uuid.UUID]) -> list[Invoice]:
    """Issue the drafts among these invoices, numbered in the order they are issued (per site), dated
    today on each site's calendar. Idempotent: an invoice already issued (a double click, a
    concurrent request) is returned as it is. Returns every invoice asked for, in issue order."""
    wanted = sorted(set(invoice_ids))
    # locked in id order: overlapping bulk issues queue behind each other
    found = list(
        (await session.scalars(select(Invoice).where(Invoice.id.in_(wanted)).order_by(Invoice.id).with_for_update())).all()
    )
    missing = set(wanted) - {x.id for x in found}
    if missing:
        raise NotFound(f"invoice not found: {sorted(map(str, missing))[0]}", field="invoice_ids")
    drafts = sorted((x for x in found if x.status == "draft"), key=lambda x: (str(x.site_id), x.created_at, str(x.id)))
    if not drafts:
        return found
    now = await _now(session)
    conn = await driver(session)
    sites = {s.id: s for s in (await session.scalars(select(Site).where(Site.id.in_({x.site_id for x in drafts})))).all()}
    terms = dict(
        (await session.execute(select(Client.id, Client.payment_terms_days).where(Client.id.in_({x.client_id for x in drafts}))))
        .tuples()
        .all()
    )
    numbers = await next_numbers(conn, list(sites), "invoice")
    for inv in drafts:
        site = sites[inv.site_id]
        n = numbers[site.id]
        numbers[site.id] = n + 1
        await _issue_one(session, conn, actor, inv, site, n, terms[inv.client_id], now)
    await save_numbers(conn, numbers, "invoice")
    await session.flush()
    issued = {x.id for x in drafts}
    return drafts + [x for x in found if x.id not in issued]


async def _issue_one(
    session: AsyncSession, conn: object, actor: Actor, inv: Invoice, site: Site, number: int, terms_days: int, now: datetime
) -> None:
    before = snapshot(inv)
    label = f"{site.code}-{number:06d}"
    issue = local_day(now, site.timezone)
    rows = await _lines(session, inv.id)
    lines = [
        Line(
            x.kind,
            x.description,
            x.quantity,
            x.unit_price_minor,
            x.amount_minor,
            x.tax_minor,
            x.lease_id,
            x.service_month,
            x.service_start,
            x.service_end,
            x.days,
            x.period_days,
            x.units,
            x.trueup,
        )
        for x in rows
    ]
    # a run's draft whose true-up credits exceed its charges carries the excess to credit notes now,
    # as a run issuing at once does (billing/run_batch.py)
    batch = Batch(inv.billing_run_id or uuid.UUID(int=0), Month.parse(inv.period), now)
    site_row = {"id": site.id, "code": site.code, "currency": site.currency}
    t = await carry_excess_if_any(conn, batch, inv.id, label, inv.client_id, site_row, lines, issue)
    if t.total_minor < 0:
        raise InvalidState(f"the draft's total is negative ({t.total_minor}); credit earlier invoices instead")
    for pos, extra in enumerate(lines[len(rows) :], start=max((x.position for x in rows), default=0) + 1):
        session.add(
            InvoiceLine(
                id=uuid.uuid4(),
                invoice_id=inv.id,
                position=pos,
                kind=extra.kind,
                trueup=False,
                description=extra.description[:500],
                quantity=extra.quantity,
                unit_price_minor=extra.unit_price_minor,
                amount_minor=extra.amount_minor,
                tax_minor=extra.tax_minor,
                units=0,
                tax_treatment=rows[0].tax_treatment if rows else "standard",
                tax_rate=None,
            )
        )
    inv.subtotal_minor, inv.tax_minor, inv.total_minor = t.subtotal_minor, t.tax_minor, t.total_minor
    inv.status = "issued"
    inv.number = number
    inv.number_label = label
    inv.issue_date = issue
    inv.due_date = issue + timedelta(days=terms_days)
    inv.issued_at = now
    inv.stripe_state = "pending"
    inv.stripe_next_attempt_at = now
    await session.flush()
    await write_notes(conn, batch)
    await record_many(session, actor, batch.audits)
    await record(session, actor, "invoice.issue", "invoice", inv.id, before=before, after=snapshot(inv), client_id=inv.client_id)
