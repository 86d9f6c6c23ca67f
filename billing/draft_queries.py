"""The drafts finance reviews (issue 12): one read-model for the API's list and the admin's page."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.read_models import DraftList, DraftRow, DraftTotal
from domain.models import Client, Site
from domain.models.invoice import Invoice, InvoiceLine


async def draft_list(
    session: AsyncSession, *, period: str | None = None, run_id: uuid.UUID | None = None, limit: int = 2000
) -> DraftList:
    counts = (
        select(
            InvoiceLine.invoice_id,
            func.count().label("lines"),
            func.count().filter(InvoiceLine.kind == "one_off").label("one_off"),
        )
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    stmt = (
        select(Invoice, Client.legal_name, Site.code, func.coalesce(counts.c.lines, 0), func.coalesce(counts.c.one_off, 0))
        .join(Client, Client.id == Invoice.client_id)
        .join(Site, Site.id == Invoice.site_id)
        .outerjoin(counts, counts.c.invoice_id == Invoice.id)
        .where(Invoice.status == "draft")
    )
    if period is not None:
        stmt = stmt.where(Invoice.period == period)
    if run_id is not None:
        stmt = stmt.where(Invoice.billing_run_id == run_id)
    stmt = stmt.order_by(
        Invoice.period, Site.code, case((Invoice.kind == "run", 0), else_=1), Client.legal_name, Invoice.id
    ).limit(limit)
    items = [
        DraftRow(
            id=inv.id,
            kind=inv.kind,
            period=inv.period,
            client_id=inv.client_id,
            client_name=name,
            site_id=inv.site_id,
            site_code=code,
            currency=inv.currency,
            lines=int(n),
            one_off_lines=int(one_off),
            subtotal_minor=inv.subtotal_minor,
            tax_minor=inv.tax_minor,
            total_minor=inv.total_minor,
            billing_run_id=inv.billing_run_id,
        )
        for inv, name, code, n, one_off in (await session.execute(stmt)).tuples().all()
    ]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in items:
        acc = sums[r.currency]
        acc[0] += 1
        acc[1] += r.subtotal_minor
        acc[2] += r.tax_minor
        acc[3] += r.total_minor
    totals = [
        DraftTotal(currency=c, drafts=a[0], subtotal_minor=a[1], tax_minor=a[2], total_minor=a[3])
        for c, a in sorted(sums.items())
    ]
    return DraftList(items=items, totals=totals)
