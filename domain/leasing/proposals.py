"""Proposals: a priced offer of seats to a client, held until it expires.

A proposal is a lease in status ``proposed`` made by the one booking use-case
(``book_lease(proposal_expires_at=...)``): its lease_seats hold the seats through the exclusion
constraint, so availability, the seat map and every other booking see them taken. Billing (its
billable statuses), provisioning (active leases only) and the seat cap (live statuses) leave it
alone. The client accepts it (``accept_proposal``: the same rows become a confirmed lease, no
re-allocation), staff withdraw it, or the worker lets it lapse at its expiry
(domain/leasing/holds.py), releasing the seats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import InvalidState, ValidationFailed
from domain.leasing.booking import book_lease
from domain.leasing.schemas import Lease as LeaseOut
from domain.leasing.schemas import LeaseCreate
from domain.leasing.state import advance_status, lease_site
from domain.leasing.views import lease_views
from domain.models import Lease, LeaseAmendment, LeaseSeat, SeatAssignment
from domain.schemas import SafeDateTime
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import site_today
from domain.services.mail import EmailView, email_view, emails_about
from domain.services.paging import keyset_page

# the longest a proposal may hold seats
MAX_HOLD = timedelta(days=180)

ProposalState = Literal["open", "accepted", "lapsed", "withdrawn"]


class ProposalCreate(LeaseCreate):
    """A lease's booking (the same fields as ``POST /v1/leases``, its terms included: notice,
    escalation, dated prices) and how long its seats are held."""

    client_id: uuid.UUID  # a proposal is made by staff: they name the client (issue 14 left it out of LeaseCreate)

    expires_at: SafeDateTime | None = Field(
        default=None,
        description="until when the seats are held for the client (RFC 3339 with offset); "
        "default: now + SEATLEASE_PROPOSAL_HOLD_DAYS; at most 180 days ahead",
    )


class Proposal(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    state: ProposalState
    expires_at: datetime | None
    proposed_at: datetime | None
    accepted_at: datetime | None
    notice_days: int
    lease: LeaseOut
    # --- email: the messages that sent it (POST /v1/proposals/{id}/send), oldest first ---
    emails: list[EmailView] = Field(default_factory=list, description="the emails that sent it: pending, sent or failed")


def proposal_state(lease: Lease, now: datetime | None = None) -> ProposalState:
    now = now or datetime.now(UTC)
    if lease.accepted_at is not None:
        return "accepted"
    expired = lease.hold_expires_at is not None and lease.hold_expires_at <= now
    if lease.status == "proposed":
        return "lapsed" if expired else "open"
    # cancelled without acceptance: by the worker at its expiry, or withdrawn by staff before it
    at = lease.cancelled_at
    lapsed = at is not None and lease.hold_expires_at is not None and at >= lease.hold_expires_at
    return "lapsed" if lapsed else "withdrawn"


async def proposal_views(session: AsyncSession, leases: list[Lease]) -> list[Proposal]:
    views = await lease_views(session, leases)
    sent = await emails_about(session, [lease.id for lease in leases])
    now = datetime.now(UTC)
    return [
        Proposal(
            id=lease.id,
            client_id=lease.client_id,
            state=proposal_state(lease, now),
            expires_at=lease.hold_expires_at,
            proposed_at=lease.proposed_at,
            accepted_at=lease.accepted_at,
            notice_days=lease.notice_days,
            lease=view,
            emails=[email_view(e) for e in sent[lease.id]],
        )
        for lease, view in zip(leases, views, strict=True)
    ]


async def get_proposal(session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False) -> Lease | None:
    """The lease made as this proposal (None: no such proposal)."""
    stmt = select(Lease).where(Lease.id == proposal_id, Lease.proposed_at.is_not(None))
    return (await session.scalars(stmt.with_for_update() if for_update else stmt)).one_or_none()


async def proposal_page(
    session: AsyncSession, *, client_id: uuid.UUID | None, open_only: bool, cursor: str | None, limit: int
) -> tuple[list[Lease], str | None]:
    stmt = select(Lease).where(Lease.proposed_at.is_not(None))
    if client_id is not None:
        stmt = stmt.where(Lease.client_id == client_id)
    if open_only:
        stmt = stmt.where(Lease.status == "proposed")
    return await keyset_page(session, stmt, Lease.id, cursor, limit)


async def create_proposal(
    session: AsyncSession,
    actor: Actor,
    req: ProposalCreate,
    *,
    default_hold: timedelta,
    now: datetime | None = None,
) -> Lease:
    """Staff propose a lease to a client: booked as any lease is (the seats must be free and are
    held from now on), in status ``proposed`` until ``expires_at``."""
    now = now or datetime.now(UTC)
    expires = req.expires_at or now + default_hold
    if expires <= now:
        raise ValidationFailed("a proposal must expire in the future", field="expires_at")
    if expires > now + MAX_HOLD:
        raise ValidationFailed(f"a proposal may hold seats for at most {MAX_HOLD.days} days", field="expires_at")
    lease, _view = await book_lease(
        session,
        actor,
        req,
        is_staff=True,
        # a proposal waits for the client, not for finance: the threshold applies on acceptance
        discount_threshold_pct=Decimal(100),
        now=now,
        proposal_expires_at=expires,
    )
    return lease


async def accept_proposal(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    discount_threshold_pct: Decimal,
    pending_hold: timedelta,
    now: datetime | None = None,
) -> Lease:
    """The client accepts an open proposal (the lease row locked by the caller): the same lease and
    the same seat rows become a confirmed lease (active at once if its start has come). A discount
    above the approval threshold still waits for finance (PRODUCT.md rule 7): the lease becomes
    pending_approval, its seats held for ``pending_hold`` more."""
    now = now or datetime.now(UTC)
    if lease.status != "proposed":
        raise InvalidState(f"the proposal is {proposal_state(lease, now)}")
    if lease.hold_expires_at is not None and lease.hold_expires_at <= now:
        raise InvalidState("the proposal has lapsed: its seats are no longer held")
    before = snapshot(lease)
    lease.accepted_at = now
    if Decimal(lease.discount_pct) > discount_threshold_pct:
        lease.status = "pending_approval"
        lease.hold_expires_at = now + pending_hold
    else:
        lease.status = "confirmed"
        lease.hold_expires_at = None
        site = await lease_site(session, lease)
        await advance_status(session, lease, site_today(site, now))
    lease.updated_at = now
    session.add(
        LeaseAmendment(
            lease_id=lease.id, kind="proposal_accepted", effective_date=lease.start_date, details={}, actor_id=actor.subject
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "lease.proposal_accepted",
        "lease",
        lease.id,
        before=before,
        after=snapshot(lease),
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return lease


async def withdraw_proposal(session: AsyncSession, actor: Actor, lease: Lease, *, now: datetime | None = None) -> Lease:
    """Staff withdraw an open proposal: its seats are released at once."""
    now = now or datetime.now(UTC)
    if lease.status != "proposed":
        raise InvalidState(f"the proposal is {proposal_state(lease, now)}")
    before = snapshot(lease)
    await session.execute(update(LeaseSeat).where(LeaseSeat.lease_id == lease.id).values(voided=True))
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    lease.status = "cancelled"
    lease.cancelled_at = now
    lease.updated_at = now
    session.add(
        LeaseAmendment(
            lease_id=lease.id, kind="proposal_withdrawn", effective_date=lease.start_date, details={}, actor_id=actor.subject
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "lease.proposal_withdrawn",
        "lease",
        lease.id,
        before=before,
        after=snapshot(lease),
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return lease
