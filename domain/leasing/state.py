"""What every lease use-case shares: the live statuses, the status step by the site's calendar, the
lookup-or-404 and the lease's site."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState
from domain.models import (
    Lease,
    Site,
)
from domain.services.lookup import get_or_404

LIVE_STATUSES = ("pending_approval", "confirmed", "active")


def advance_status(lease: Lease, today: date) -> None:
    """confirmed → active on the start date; active → ended after the end date."""
    if lease.status == "confirmed" and lease.start_date <= today:
        lease.status = "active"
        lease.activated_at = datetime.now(UTC)
    if lease.status == "active" and lease.end_date is not None and lease.end_date < today:
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
