"""A proposal's price and its PDF: the price is billing's quote (billing/quote.py) of the lease as
proposed, the PDF is drawn on our documents' A4 page (reportlab, billing/doc_kit.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.doc_kit import amount, esc, pdf_page
from billing.quote import Quote, QuoteOut, first_invoice, lease_facts, quote_out
from domain.leasing.proposals import Proposal
from domain.leasing.terms import price_steps_of
from domain.models import Client, Inclusion, Lease, LeaseAddOn, LeaseSeat, Plan, Site
from domain.services.catalog import plan_inclusions
from domain.services.plan_prices import PlanTerms


class PricedProposal(Proposal):
    """A proposal with its price: the first invoice line by line, then a full month."""

    price: QuoteOut


async def proposal_quote(session: AsyncSession, lease: Lease) -> Quote:
    """The quote of a proposed lease as it stands: its seats, add-ons, discount and its own terms
    (the prices it copied when it was proposed, its dated prices and escalation), which acceptance
    keeps: the price offered is the price billed."""
    site = await session.get(Site, lease.site_id)
    plan = await session.get(Plan, lease.plan_id)
    assert site is not None
    assert plan is not None
    rows = select(func.count()).select_from(LeaseSeat).where(LeaseSeat.lease_id == lease.id)
    if lease.status != "cancelled" or lease.accepted_at is not None:
        rows = rows.where(LeaseSeat.voided.is_(False))
    # (a lapsed or withdrawn proposal released its seats: its price stays the one it offered)
    seats = int(await session.scalar(rows) or 0)
    priced_add_ons = (
        await session.execute(
            select(LeaseAddOn.quantity, LeaseAddOn.unit_price_minor, Inclusion)
            .join(Inclusion, Inclusion.id == LeaseAddOn.inclusion_id)
            .where(LeaseAddOn.lease_id == lease.id)
            .order_by(Inclusion.code)
        )
    ).all()
    included = [i for i in (await plan_inclusions(session, [plan.id]))[plan.id] if i.billing == "included"]
    terms = PlanTerms(
        lease.monthly_price_minor,
        lease.setup_fee_minor,
        lease.deposit_months,
        {inc.code: unit for _qty, unit, inc in priced_add_ons},
    )
    steps = (await price_steps_of(session, [lease.id]))[lease.id]
    facts = lease_facts(
        plan,
        seats=seats,
        start=lease.start_date,
        end=lease.end_date,
        add_ons=[(inc, qty) for qty, _unit, inc in priced_add_ons],
        included=included,
        discount_pct=Decimal(lease.discount_pct),
        shift=lease.shift_code,
        terms=terms,
        escalation_pct=None if lease.escalation_pct is None else Decimal(lease.escalation_pct),
        price_steps=tuple((s.effective_date, s.monthly_price_minor) for s in steps),
    )
    return first_invoice(site, facts)


async def priced(session: AsyncSession, proposal: Proposal, lease: Lease, *, discount_threshold_pct: Decimal) -> PricedProposal:
    q = await proposal_quote(session, lease)
    # its seats are its own (free_seats is a quote's question); a discount above the threshold waits
    # for finance once the client accepts
    price = quote_out(q, seats=q.seats, free=None, needs_approval=Decimal(lease.discount_pct) > discount_threshold_pct)
    return PricedProposal(**proposal.model_dump(), price=price)


async def proposal_pdf(session: AsyncSession, proposal: PricedProposal) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    client = await session.get(Client, proposal.client_id)
    site = await session.get(Site, proposal.lease.site_id)
    plan = await session.get(Plan, proposal.lease.plan_id)
    assert client is not None
    assert site is not None
    assert plan is not None
    lease, price, cur = proposal.lease, proposal.price, proposal.price.currency
    page = pdf_page(f"Proposal {proposal.id} {client.legal_name}")
    styles, small, grid = page.styles, page.small, page.grid
    expires = proposal.expires_at.isoformat(timespec="minutes") if proposal.expires_at else "-"
    term = f"{lease.start_date} to {lease.end_date}" if lease.end_date else f"from {lease.start_date}, rolling month to month"
    # the lease's own price terms beyond its plan's price: a yearly raise and dated seat prices
    price_terms = "".join(
        [f"Escalation: {lease.escalation_pct}% on each anniversary of the start<br/>" if lease.escalation_pct else ""]
        + [f"Seat price from {s.effective_date}: {cur} {amount(s.monthly_price_minor, cur)}<br/>" for s in lease.price_steps]
    )
    story: list[Any] = [
        Paragraph(f"Seat lease proposal — {esc(client.legal_name)}", styles["Title"]),
        Paragraph(
            f"<b>{esc(client.legal_name)}</b><br/>Tax id: {esc(client.tax_id or '-')}<br/>"
            f"Site: {esc(site.code)} · {esc(site.name)}<br/>Plan: {esc(plan.name)} · shift {esc(lease.shift)}<br/>"
            f"Term: {term}<br/>Notice period: {proposal.notice_days} days<br/>"
            f"Discount: {lease.discount_pct}%<br/>{price_terms}"
            f"Seats ({len(lease.seats)}): {esc(', '.join(s.label for s in lease.seats))}<br/>"
            f"Seats held for you until: {expires}<br/>Proposal: {proposal.id}",
            styles["BodyText"],
        ),
        Spacer(1, 6 * mm),
    ]
    if lease.add_ons:
        story.append(
            Paragraph(
                "Add-ons: " + esc(", ".join(f"{a.name} × {a.quantity}" for a in lease.add_ons)),
                styles["BodyText"],
            )
        )
    for title, inv in (("First invoice", price.first_invoice), ("Then a full month", price.full_month)):
        if inv is None:
            continue
        story.append(Paragraph(f"{title} — {inv.period}", styles["Heading3"]))
        rows: list[list[Any]] = [["Description", "Qty", "Unit", "Days", "Amount", "Tax"]]
        for ln in inv.lines:
            days = f"{ln.days}/{ln.period_days}" if ln.days is not None and ln.period_days else ""
            rows.append(
                [
                    Paragraph(esc(ln.description), small),
                    ln.quantity,
                    amount(ln.unit_price_minor, cur),
                    days,
                    amount(ln.amount_minor, cur),
                    amount(ln.tax_minor, cur),
                ]
            )
        rows.append(["Subtotal", "", "", "", amount(inv.subtotal_minor, cur), amount(inv.tax_minor, cur)])
        rows.append([f"Total {cur}", "", "", "", amount(inv.total_minor, cur), ""])
        story += [Table(rows, style=grid, hAlign="LEFT", colWidths=[85 * mm, 12 * mm, 22 * mm, 14 * mm, 24 * mm, 22 * mm])]
        story.append(Spacer(1, 4 * mm))
    if price.deposit_minor:
        deposit = amount(price.deposit_minor, cur)
        story.append(Paragraph(f"The first invoice includes a security deposit of {cur} {deposit}.", small))
    return await asyncio.to_thread(page.render, story)  # reportlab is CPU work: off the event loop
