"""A proposal's price and its PDF: the price is billing's quote (billing/quote.py) of the lease as
proposed, the PDF is drawn with the statements' library (reportlab, billing/statement_render.py)."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.quote import Quote, QuoteOut, first_invoice, quote_out
from billing.statement_render import _esc, major
from domain.leasing.proposals import Proposal
from domain.models import Client, Inclusion, Lease, LeaseAddOn, LeaseSeat, Plan, Site
from domain.services.catalog import plan_inclusions


class PricedProposal(Proposal):
    """A proposal with its price: the first invoice line by line, then a full month."""

    price: QuoteOut


async def proposal_quote(session: AsyncSession, lease: Lease) -> Quote:
    """The quote of a proposed lease as it stands: its seats, add-ons and discount at its plan's price."""
    site = await session.get(Site, lease.site_id)
    plan = await session.get(Plan, lease.plan_id)
    assert site is not None
    assert plan is not None
    rows = select(func.count()).select_from(LeaseSeat).where(LeaseSeat.lease_id == lease.id)
    if lease.status != "cancelled" or lease.accepted_at is not None:
        rows = rows.where(LeaseSeat.voided.is_(False))
    # (a lapsed or withdrawn proposal released its seats: its price stays the one it offered)
    seats = int(await session.scalar(rows) or 0)
    add_ons = [
        (inc, qty)
        for qty, inc in (
            await session.execute(
                select(LeaseAddOn.quantity, Inclusion)
                .join(Inclusion, Inclusion.id == LeaseAddOn.inclusion_id)
                .where(LeaseAddOn.lease_id == lease.id)
                .order_by(Inclusion.code)
            )
        ).all()
    ]
    included = [i for i in (await plan_inclusions(session, [plan.id]))[plan.id] if i.billing == "included"]
    return first_invoice(
        site,
        plan,
        seats=seats,
        start=lease.start_date,
        end=lease.end_date,
        add_ons=add_ons,
        included=included,
        discount_pct=Decimal(lease.discount_pct),
        shift=lease.shift_code,
    )


async def priced(session: AsyncSession, proposal: Proposal, lease: Lease, *, discount_threshold_pct: Decimal) -> PricedProposal:
    q = await proposal_quote(session, lease)
    # its seats are its own (free_seats is a quote's question); a discount above the threshold waits
    # for finance once the client accepts
    price = quote_out(q, seats=q.seats, free=None, needs_approval=Decimal(lease.discount_pct) > discount_threshold_pct)
    return PricedProposal(**proposal.model_dump(), price=price)


async def proposal_pdf(session: AsyncSession, proposal: PricedProposal) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    client = await session.get(Client, proposal.client_id)
    site = await session.get(Site, proposal.lease.site_id)
    plan = await session.get(Plan, proposal.lease.plan_id)
    assert client is not None
    assert site is not None
    assert plan is not None
    lease, price, cur = proposal.lease, proposal.price, proposal.price.currency
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Proposal {proposal.id} {client.legal_name}",
    )
    grid = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ]
    )
    expires = proposal.expires_at.isoformat(timespec="minutes") if proposal.expires_at else "-"
    term = f"{lease.start_date} to {lease.end_date}" if lease.end_date else f"from {lease.start_date}, rolling month to month"
    story: list[Any] = [
        Paragraph(f"Seat lease proposal — {_esc(client.legal_name)}", styles["Title"]),
        Paragraph(
            f"<b>{_esc(client.legal_name)}</b><br/>Tax id: {_esc(client.tax_id or '-')}<br/>"
            f"Site: {_esc(site.code)} · {_esc(site.name)}<br/>Plan: {_esc(plan.name)} · shift {_esc(lease.shift)}<br/>"
            f"Term: {term}<br/>Notice period: {proposal.notice_days} days<br/>"
            f"Discount: {lease.discount_pct}%<br/>"
            f"Seats ({len(lease.seats)}): {_esc(', '.join(s.label for s in lease.seats))}<br/>"
            f"Seats held for you until: {expires}<br/>Proposal: {proposal.id}",
            styles["BodyText"],
        ),
        Spacer(1, 6 * mm),
    ]
    if lease.add_ons:
        story.append(
            Paragraph(
                "Add-ons: " + _esc(", ".join(f"{a.name} × {a.quantity}" for a in lease.add_ons)),
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
                    Paragraph(_esc(ln.description), small),
                    ln.quantity,
                    major(ln.unit_price_minor, cur),
                    days,
                    major(ln.amount_minor, cur),
                    major(ln.tax_minor, cur),
                ]
            )
        rows.append(["Subtotal", "", "", "", major(inv.subtotal_minor, cur), major(inv.tax_minor, cur)])
        rows.append([f"Total {cur}", "", "", "", major(inv.total_minor, cur), ""])
        story += [Table(rows, style=grid, hAlign="LEFT", colWidths=[85 * mm, 12 * mm, 22 * mm, 14 * mm, 24 * mm, 22 * mm])]
        story.append(Spacer(1, 4 * mm))
    if price.deposit_minor:
        deposit = major(price.deposit_minor, cur)
        story.append(Paragraph(f"The first invoice includes a security deposit of {cur} {deposit}.", small))
    await asyncio.to_thread(doc.build, story)  # reportlab is CPU work: off the event loop
    return buf.getvalue()
