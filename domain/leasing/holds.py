"""Holds that expire: an open proposal at its ``hold_expires_at``, a pending approval at its own
``hold_expires_at`` or, without one, ``pending_hold`` after it was booked. The worker's pass
releases them (status cancelled, seats voided so that anyone can book them), audited.

Exactly once with any number of workers: one UPDATE decides, and a second worker's UPDATE waits
on the row locks of the first and re-checks its condition on the rows as committed (PostgreSQL's
READ COMMITTED re-evaluation), so a released lease is never released (nor audited) twice -- nor
released after an approval or an acceptance that committed first."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.models import Lease, LeaseAmendment, LeaseSeat, SeatAssignment
from domain.services.audit import Actor, record


def hold_expiry(pending_hold: timedelta) -> Any:
    """SQL: when a lease's hold ends (proposals always carry their own expiry)."""
    return func.coalesce(Lease.hold_expires_at, Lease.created_at + literal(pending_hold))


async def release_expired_holds(session: AsyncSession, actor: Actor, *, pending_hold: timedelta) -> dict[str, int]:
    """Release every proposal and pending approval whose hold has expired; returns how many of each."""
    rows = (
        await session.execute(
            update(Lease)
            .where(
                Lease.status.in_(("proposed", "pending_approval")),
                hold_expiry(pending_hold) <= func.now(),
            )
            .values(status="cancelled", cancelled_at=func.now(), updated_at=func.now())
            .returning(Lease.id, Lease.client_id, Lease.start_date, Lease.accepted_at, Lease.proposed_at)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        return {"proposals_lapsed": 0, "approvals_expired": 0}
    ids: list[uuid.UUID] = [r.id for r in rows]
    await session.execute(update(LeaseSeat).where(LeaseSeat.lease_id.in_(ids)).values(voided=True))
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id.in_(ids)))
    lapsed = 0
    for r in rows:
        proposal = r.proposed_at is not None and r.accepted_at is None
        lapsed += proposal
        reason = "proposal_lapsed" if proposal else "approval_expired"
        session.add(LeaseAmendment(lease_id=r.id, kind=reason, effective_date=r.start_date, details={}, actor_id=actor.subject))
        await record(
            session,
            actor,
            "lease.hold_expired",
            "lease",
            r.id,
            before={"status": "proposed" if proposal else "pending_approval"},
            after={"status": "cancelled", "reason": reason},
            client_id=r.client_id,
        )
    await session.flush()
    await events.leases_changed(session)
    return {"proposals_lapsed": lapsed, "approvals_expired": len(rows) - lapsed}


async def pending_hold_ends(session: AsyncSession, lease_id: uuid.UUID, pending_hold: timedelta) -> Any:
    """When the hold of a proposal or pending approval ends (for the admin's lease page)."""
    return await session.scalar(select(hold_expiry(pending_hold)).where(Lease.id == lease_id))
