"""What a new ticket is about: its client, site, seat, device, lease and agent, checked against each other.

A client raises tickets for itself only, about what is its own: a seat one of its live leases holds, a
device on such a seat, its own lease and agent. A reference that does not fit is a 422 naming the field;
another tenant's lease or agent is a 404 (it does not exist for this client). Staff may raise a ticket
for any client or for none (the facility's own), with the same checks against that client.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound, ValidationFailed
from domain.helpdesk.access import sees_internal
from domain.helpdesk.schemas import Requester, TicketCreate
from domain.models import Client, Device, Lease, LeaseSeat, Member, Seat, Site
from domain.services.catalog import site_today

LIVE_LEASE = ("confirmed", "active")


@dataclass(frozen=True)
class Refs:
    client_id: uuid.UUID | None
    site_id: uuid.UUID
    seat_id: uuid.UUID | None
    device_id: uuid.UUID | None
    lease_id: uuid.UUID | None
    member_id: uuid.UUID | None


async def live_leases_holding(
    session: AsyncSession, client_id: uuid.UUID, seat_id: uuid.UUID, site: Site, now: datetime
) -> list[uuid.UUID]:
    """The client's live leases holding the seat today (the site's date)."""
    today = site_today(site, now)
    stmt = (
        select(LeaseSeat.lease_id)
        .join(Lease, Lease.id == LeaseSeat.lease_id)
        .where(
            LeaseSeat.seat_id == seat_id,
            LeaseSeat.voided.is_(False),
            LeaseSeat.start_date <= today,
            or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= today),
            Lease.client_id == client_id,
            Lease.status.in_(LIVE_LEASE),
        )
        .distinct()
    )
    return list((await session.scalars(stmt)).all())


def _own_client(who: Requester, given: uuid.UUID | None) -> uuid.UUID:
    """A client raises for itself: another client named is 404, as if it did not exist."""
    if who.client_id is None or (given is not None and given != who.client_id):
        raise NotFound("client not found")
    return who.client_id


async def _client_object(
    session: AsyncSession,
    model: type[Lease] | type[Member],
    object_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    *,
    staff: bool,
) -> tuple[Lease | Member | None, uuid.UUID | None]:
    """The lease or agent named, and the client it tells (when none was given). Another tenant's is 404 to a
    client; to staff, one that is not the named client's is a 422."""
    if object_id is None:
        return None, client_id
    what, field = ("lease", "lease_id") if model is Lease else ("agent", "member_id")
    obj: Any = await session.get(model, object_id)
    if obj is None or (not staff and obj.client_id != client_id):
        raise NotFound(f"{what} not found")
    if client_id is None:
        return obj, obj.client_id
    if obj.client_id != client_id:
        raise ValidationFailed(f"the {what} is not this client's", field=field)
    return obj, client_id


async def _get_or_422(session: AsyncSession, model: type[Seat] | type[Device], object_id: uuid.UUID | None, field: str) -> Any:
    if object_id is None:
        return None
    obj = await session.get(model, object_id)
    if obj is None:
        raise ValidationFailed(f"no such {field.removesuffix('_id')}", field=field)
    return obj


async def _site(session: AsyncSession, req: TicketCreate, seat: Seat | None, device: Device | None, lease: Lease | None) -> Site:
    site_id = req.site_id or next((o.site_id for o in (seat, device, lease) if o is not None), None)
    if site_id is None:
        raise ValidationFailed("say which site: give site_id, or a seat, device or lease", field="site_id")
    site = await session.get(Site, site_id)
    if site is None:
        raise ValidationFailed("no such site", field="site_id")
    for field, obj in (("seat_id", seat), ("device_id", device), ("lease_id", lease)):
        if obj is not None and obj.site_id != site.id:
            raise ValidationFailed(f"the {field.removesuffix('_id')} is not on this site", field=field)
    return site


async def resolve_refs(session: AsyncSession, who: Requester, req: TicketCreate, now: datetime) -> Refs:
    staff = sees_internal(who)
    client_id = req.client_id if staff else _own_client(who, req.client_id)
    lease, client_id = await _client_object(session, Lease, req.lease_id, client_id, staff=staff)
    member, client_id = await _client_object(session, Member, req.member_id, client_id, staff=staff)
    if isinstance(member, Member) and not member.active:
        raise ValidationFailed("the agent is no longer active", field="member_id")
    if client_id is not None and staff and await session.get(Client, client_id) is None:
        raise ValidationFailed("no such client", field="client_id")
    seat: Seat | None = await _get_or_422(session, Seat, req.seat_id, "seat_id")
    device: Device | None = await _get_or_422(session, Device, req.device_id, "device_id")
    site = await _site(session, req, seat, device, lease if isinstance(lease, Lease) else None)

    if device is not None and seat is not None and device.seat_id != seat.id:
        raise ValidationFailed("the device is not on this seat", field="device_id")
    if seat is None and device is not None and device.seat_id is not None and client_id is not None:
        seat = await session.get(Seat, device.seat_id)  # the device tells which seat
    if seat is not None and client_id is not None:
        holding = await live_leases_holding(session, client_id, seat.id, site, now)
        if not holding:
            field = "seat_id" if req.seat_id is not None else "device_id"
            raise ValidationFailed(f"the {field.removesuffix('_id')} is not on a seat this client leases", field=field)
        if lease is not None and lease.id not in holding:
            raise ValidationFailed("the seat is not held by this lease", field="seat_id")
        if lease is None and len(holding) == 1:
            lease = await session.get(Lease, holding[0])
    elif device is not None and client_id is not None:
        raise ValidationFailed("the device is not on a seat this client leases", field="device_id")
    return Refs(
        client_id=client_id,
        site_id=site.id,
        seat_id=seat.id if seat else None,
        device_id=device.id if device else None,
        lease_id=lease.id if lease else None,
        member_id=member.id if member else None,
    )
