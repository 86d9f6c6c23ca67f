"""Occupancy by site, floor and shift for a date; the dashboard's lists of leases and devices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Client, Lease, LeaseSeat, Site
from domain.models.held import held_sql
from domain.models.lease import LeaseStatus

_SHIFT_LO = "(extract(hour FROM sh.starts_at) * 60 + extract(minute FROM sh.starts_at))::int"
_SHIFT_HI = "(extract(hour FROM sh.ends_at) * 60 + extract(minute FROM sh.ends_at))::int"

# --- proposals and holds: a seat held by an open proposal is taken (nobody else may book it) but not leased ---
_NOT_PROPOSED = (
    "NOT EXISTS (SELECT 1 FROM lease_seats p_ls JOIN leases p_l ON p_l.id = p_ls.lease_id "
    "WHERE p_ls.id = g.lease_seat_id AND p_l.status = 'proposed')"
)

# leased for this shift on this day: a stored occupancy segment of the seat overlaps what a lease of
# the shift on that one day would hold (seat_held, the rule of availability and the seat map too)
OCCUPANCY_SQL = text(f"""
SELECT si.id AS site_id, si.code AS site_code, f.id AS floor_id, f.name AS floor_name, sh.code AS shift,
       count(se.id) FILTER (WHERE se.status = 'active') AS seats_total,
       count(se.id) FILTER (WHERE se.status = 'active' AND EXISTS (
           SELECT 1 FROM lease_seat_segments g
           WHERE g.seat_id = se.id AND {held_sql("g", "CAST(:day AS date)", "CAST(:day AS date)", _SHIFT_LO, _SHIFT_HI)}
             AND {_NOT_PROPOSED}
       )) AS seats_leased
FROM sites si
JOIN floors f ON f.site_id = si.id
JOIN shifts sh ON sh.site_id = si.id
LEFT JOIN seats se ON se.floor_id = f.id
WHERE (CAST(:site_id AS uuid) IS NULL OR si.id = CAST(:site_id AS uuid))
GROUP BY si.id, si.code, f.id, f.name, f.level, sh.code, sh.starts_at
ORDER BY si.code, f.level, f.name, sh.starts_at
""")


@dataclass(frozen=True)
class OccupancyRow:
    """Seats leased over seats in service, for one floor and shift."""

    site_id: uuid.UUID
    site_code: str
    floor_id: uuid.UUID
    floor_name: str
    shift: str
    seats_total: int
    seats_leased: int
    occupancy_rate: float


async def occupancy(session: AsyncSession, day: date, site_id: uuid.UUID | None = None) -> list[OccupancyRow]:
    rows = (await session.execute(OCCUPANCY_SQL, {"day": day, "site_id": site_id})).mappings().all()
    return [
        OccupancyRow(**r, occupancy_rate=round(r["seats_leased"] / r["seats_total"], 4) if r["seats_total"] else 0.0)
        for r in rows
    ]


@dataclass
class ShiftOccupancy:
    """Occupancy of a whole site for one shift (its floors added up)."""

    site_id: uuid.UUID
    site_code: str
    shift: str
    seats_total: int = 0
    seats_leased: int = 0

    @property
    def rate(self) -> float:
        return self.seats_leased / self.seats_total if self.seats_total else 0.0


async def occupancy_by_site_shift(session: AsyncSession, day: date) -> list[ShiftOccupancy]:
    """:func:`occupancy` per site and shift, in its order (site code, then the shifts by start)."""
    acc: dict[tuple[str, str], ShiftOccupancy] = {}
    for r in await occupancy(session, day):
        row = acc.setdefault((r.site_code, r.shift), ShiftOccupancy(r.site_id, r.site_code, r.shift))
        row.seats_total += r.seats_total
        row.seats_leased += r.seats_leased
    return list(acc.values())


class LeaseRow(NamedTuple):
    """A lease in a dashboard list: its client's name, its site's code and how many seats it holds."""

    lease: Lease
    client: str
    site_code: str
    seats: int


async def _lease_rows(session: AsyncSession, *conds: Any, order: Any, limit: int = 12) -> list[LeaseRow]:
    seats = (
        select(func.count(func.distinct(LeaseSeat.seat_id)))
        .where(LeaseSeat.lease_id == Lease.id, LeaseSeat.voided.is_(False))
        .scalar_subquery()
    )
    stmt = (
        select(Lease, Client.legal_name, Site.code, seats.label("seats"))
        .join(Client, Client.id == Lease.client_id)
        .join(Site, Site.id == Lease.site_id)
        .where(*conds)
        .order_by(order)
        .limit(limit)
    )
    return [LeaseRow(*row) for row in (await session.execute(stmt)).all()]


async def leases_starting(session: AsyncSession, today: date, days: int = 30) -> list[LeaseRow]:
    """Leases not yet begun that start within ``days``, soonest first."""
    return await _lease_rows(
        session,
        Lease.status.in_((LeaseStatus.PENDING_APPROVAL, LeaseStatus.CONFIRMED)),
        Lease.start_date >= today,
        Lease.start_date <= today + timedelta(days=days),
        order=Lease.start_date,
    )


async def leases_ending(session: AsyncSession, today: date, days: int = 30) -> list[LeaseRow]:
    """Running leases whose end date falls within ``days``, soonest first."""
    return await _lease_rows(
        session,
        Lease.status.in_((LeaseStatus.CONFIRMED, LeaseStatus.ACTIVE)),
        Lease.end_date.is_not(None),
        Lease.end_date >= today,
        Lease.end_date <= today + timedelta(days=days),
        order=Lease.end_date,
    )


async def leases_pending_approval(session: AsyncSession) -> list[LeaseRow]:
    return await _lease_rows(session, Lease.status == LeaseStatus.PENDING_APPROVAL, order=Lease.created_at)


# --- proposals and holds ---
async def open_proposals(session: AsyncSession) -> list[LeaseRow]:
    """Proposals waiting for their client's answer, the soonest to lapse first."""
    return await _lease_rows(session, Lease.status == LeaseStatus.PROPOSED, order=Lease.hold_expires_at, limit=50)
