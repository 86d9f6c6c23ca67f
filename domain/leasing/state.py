"""What every lease use-case shares: the live statuses, the status step by the site's calendar, the
lookup-or-404 and the lease's site."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState
from domain.models import (
    Lease,
    LeaseSeat,
    LeaseSeatSegment,
    Site,
)
from domain.models.held import ANY_TIME, held
from domain.services.lookup import get_or_404

LIVE_STATUSES = ("pending_approval", "confirmed", "active")


def holds_a_seat_from(lease_id: Any, day: Any) -> ColumnElement[bool]:
    """Some live seat of the lease is held on ``day`` or later (the one rule, ``seat_held``): the
    morning after a night shift's last date is still the lease's."""
    return exists().where(
        LeaseSeat.lease_id == lease_id,
        LeaseSeatSegment.lease_seat_id == LeaseSeat.id,
        held(LeaseSeatSegment, day, None, ANY_TIME),
    )


async def advance_status(session: AsyncSession, lease: Lease, today: date) -> None:
    """confirmed → active on the start date; active → ended once none of its seats is held any more
    (the worker's pass, domain/leasing/worker_pass.py, moves the rest the same way)."""
    if lease.status == "confirmed" and lease.start_date <= today:
        lease.status = "active"
        lease.activated_at = datetime.now(UTC)
    if lease.status == "active" and lease.end_date is not None and lease.end_date < today:
        await session.flush()  # the seats' segments as the triggers write them
        if not await session.scalar(select(holds_a_seat_from(lease.id, today))):
            lease.status = "ended"
            lease.ended_at = datetime.now(UTC)


async def get_lease(session: AsyncSession, lease_id: uuid.UUID, *, for_update: bool = False) -> Lease:
    return await get_or_404(session, Lease, lease_id, "lease", for_update=for_update)


async def lease_site(session: AsyncSession, lease: Lease) -> Site:
    site = await session.get(Site, lease.site_id)
    assert site is not None
    return site


def require_live(lease: Lease) -> None:
    if lease.status not in LIVE_STATUSES:
        raise InvalidState(f"the lease is {lease.status}")
