"""Send a proposal by email: its PDF (billing/proposal_doc.py, the same document as
``GET /v1/proposals/{id}/pdf``) attached to a message queued in the outbox
(domain/services/mail.py) in the caller's transaction; the worker's sender delivers it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from billing import proposal_doc
from billing.doc_kit import amount
from domain.errors import InvalidState
from domain.leasing import proposals
from domain.models import Client, Lease, Plan, Site
from domain.schemas import TEXT_PATTERN, Email, Strict
from domain.services import mail
from domain.services.audit import Actor, record

TOPIC = "proposal"


class ProposalSend(Strict):
    to: list[Email] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="the recipients; default: the client's billing_email",
    )
    message: str | None = Field(
        default=None, max_length=4000, pattern=TEXT_PATTERN, description="a note put above the proposal's summary"
    )


class ProposalSent(BaseModel):
    proposal_id: uuid.UUID
    email: mail.EmailView


def _body(message: str | None, priced: proposal_doc.PricedProposal, site: Site, plan: Plan) -> str:
    price, cur, lease = priced.price, priced.price.currency, priced.lease
    lines = [message.strip(), ""] if message and message.strip() else []
    term = f"from {lease.start_date} to {lease.end_date}" if lease.end_date else f"from {lease.start_date}, month to month"
    lines.append(f"Please find attached our proposal: {len(lease.seats)} seat(s) at {site.name}, plan {plan.name}, {term}.")
    if price.first_invoice is not None:
        lines.append(f"First invoice: {cur} {amount(price.first_invoice.total_minor, cur)}.")
    if price.full_month is not None:
        lines.append(f"Then a full month: {cur} {amount(price.full_month.total_minor, cur)}.")
    if priced.expires_at is not None:
        lines.append(f"The seats are held for you until {priced.expires_at.isoformat(timespec='minutes')}.")
    lines.append(f"Proposal: {priced.id}")
    return "\n".join(lines) + "\n"


async def send_proposal(
    session: AsyncSession, actor: Actor, lease: Lease, req: ProposalSend, *, discount_threshold_pct: Decimal
) -> ProposalSent:
    """Queue an open proposal's email (the lease row locked by the caller, so that two sends of it
    get two numbered dedupe keys in turn), audited ``lease.proposal_sent``."""
    state = proposals.proposal_state(lease)
    if state != "open":
        raise InvalidState(f"the proposal is {state}: only an open proposal is sent")
    client = await session.get(Client, lease.client_id)
    site = await session.get(Site, lease.site_id)
    plan = await session.get(Plan, lease.plan_id)
    assert client is not None
    assert site is not None
    assert plan is not None
    view = (await proposals.proposal_views(session, [lease]))[0]
    priced = await proposal_doc.priced(session, view, lease, discount_threshold_pct=discount_threshold_pct)
    pdf = await proposal_doc.proposal_pdf(session, priced)
    to = list(dict.fromkeys(str(a) for a in req.to)) if req.to else [client.billing_email]
    number = await mail.count_about(session, lease.id, TOPIC) + 1
    row, _new = await mail.queue_email(
        session,
        to=to,
        subject=f"Seat lease proposal — {client.legal_name}",
        body=_body(req.message, priced, site, plan),
        dedupe_key=f"{TOPIC}:{lease.id}:{number}",
        topic=TOPIC,
        client_id=lease.client_id,
        object_id=lease.id,
        attachments=[mail.Attachment(f"proposal-{lease.id}.pdf", "application/pdf", pdf)],
        created_by=actor.subject,
    )
    await record(
        session,
        actor,
        "lease.proposal_sent",
        "lease",
        lease.id,
        after={"email_id": row.id, "to": to, "subject": row.subject},
        client_id=lease.client_id,
    )
    return ProposalSent(proposal_id=lease.id, email=mail.email_view(row))
