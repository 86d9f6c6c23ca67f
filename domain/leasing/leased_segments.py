"""Which leases hold a seat, as occupancy segments: the facts `domain/rules/leased_time.py` turns into
instants (the help desk's SLA clock and downtime credits read them through here, once)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Lease, LeaseSeat, LeaseSeatSegment, LeaseStatus
from domain.rules.shifts import Segment

# a seat is leased while its lease is confirmed or running, and was leased during an ended lease's
# term; a lease waiting for approval or a proposal only holds the seat, nobody works there yet
LEASED_STATUSES: tuple[str, ...] = (LeaseStatus.CONFIRMED, LeaseStatus.ACTIVE, LeaseStatus.ENDED)


class HeldSegment(NamedTuple):
    seat_id: uuid.UUID
    lease_id: uuid.UUID
    client_id: uuid.UUID
    shift_code: str
    segment: Segment


async def leased_segments(session: AsyncSession, seat_ids: Sequence[uuid.UUID]) -> list[HeldSegment]:
    """Every occupancy segment of the given seats under a lease that is (or was) leased."""
    if not seat_ids:
        return []
    rows = await session.execute(
        select(
            LeaseSeatSegment.seat_id,
            Lease.id,
            Lease.client_id,
            Lease.shift_code,
            LeaseSeatSegment.start_date,
            LeaseSeatSegment.end_date,
            LeaseSeatSegment.win_lo,
            LeaseSeatSegment.win_hi,
        )
        .join(LeaseSeat, LeaseSeat.id == LeaseSeatSegment.lease_seat_id)
        .join(Lease, Lease.id == LeaseSeat.lease_id)
        .where(LeaseSeatSegment.seat_id.in_(list(seat_ids)), Lease.status.in_(LEASED_STATUSES))
    )
    return [
        HeldSegment(seat, lease, client, shift, Segment(start, end, lo, hi))
        for seat, lease, client, shift, start, end, lo, hi in rows.all()
    ]
