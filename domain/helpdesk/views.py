"""Read-models of the ticket pages: what a client may raise a ticket about, and the names of what tickets
are about (seat labels, devices, agents, sites) for a list or a timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import DateTime, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain.helpdesk.references import LIVE_LEASE
from domain.models import Device, Lease, LeaseSeat, Member, Seat, Site
from domain.models.ticket import Ticket


@dataclass(frozen=True)
class Option:
    id: uuid.UUID
    label: str
    group: str = ""  # a device's seat, an agent's email


@dataclass
class RaiseOptions:
    seats: list[Option] = field(default_factory=list)
    sites: list[Option] = field(default_factory=list)  # the sites of those seats (a ticket about no one seat)
    devices: list[Option] = field(default_factory=list)
    members: list[Option] = field(default_factory=list)


async def raise_options(session: AsyncSession, client_id: uuid.UUID, now: datetime) -> RaiseOptions:
    """The client's seats held by a live lease now (by each site's date), the devices on them, its active agents."""
    site_day = _site_day(now)
    rows = (
        await session.execute(
            select(Seat.id, Seat.label, Site.code, Site.id.label("site_id"), Site.name)
            .join(LeaseSeat, LeaseSeat.seat_id == Seat.id)
            .join(Lease, Lease.id == LeaseSeat.lease_id)
            .join(Site, Site.id == Seat.site_id)
            .where(
                Lease.client_id == client_id,
                Lease.status.in_(LIVE_LEASE),
                LeaseSeat.voided.is_(False),
                LeaseSeat.start_date <= site_day,
                or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= site_day),
            )
            .distinct()
            .order_by(Site.code, Seat.label)
        )
    ).all()
    out = RaiseOptions(seats=[Option(r.id, r.label, r.code) for r in rows])
    out.sites = list({r.site_id: Option(r.site_id, f"{r.code} · {r.name}") for r in rows}.values())
    labels = {r.id: r.label for r in rows}
    if labels:
        devices = await session.execute(
            select(Device.id, Device.kind, Device.serial, Device.seat_id)
            .where(Device.seat_id.in_(list(labels)))
            .order_by(Device.kind, Device.serial)
        )
        out.devices = [Option(d.id, f"{d.kind} {d.serial}", labels[d.seat_id]) for d in devices]
    members = await session.execute(
        select(Member.id, Member.name, Member.email)
        .where(Member.client_id == client_id, Member.active.is_(True))
        .order_by(Member.name)
    )
    out.members = [Option(m.id, m.name, m.email) for m in members]
    return out


def _site_day(now: datetime) -> ColumnElement[date]:
    """The seat's site's own date at `now`, in SQL (each site's time zone)."""
    return func.date(func.timezone(Site.timezone, literal(now, DateTime(timezone=True))))


@dataclass
class Names:
    seats: dict[uuid.UUID, str] = field(default_factory=dict)
    devices: dict[uuid.UUID, str] = field(default_factory=dict)
    members: dict[uuid.UUID, str] = field(default_factory=dict)
    sites: dict[uuid.UUID, str] = field(default_factory=dict)
    # each site's time zone: a ticket's instants are read on its site's clock
    zones: dict[uuid.UUID, str] = field(default_factory=dict)


async def names_for(session: AsyncSession, tickets: Sequence[Ticket]) -> Names:
    def ids(attr: str) -> list[uuid.UUID]:
        return list({v for t in tickets if (v := getattr(t, attr)) is not None})

    names = Names()
    if s := ids("seat_id"):
        names.seats = {r.id: r.label for r in await session.execute(select(Seat.id, Seat.label).where(Seat.id.in_(s)))}
    if d := ids("device_id"):
        rows = await session.execute(select(Device.id, Device.kind, Device.serial).where(Device.id.in_(d)))
        names.devices = {r.id: f"{r.kind} {r.serial}" for r in rows}
    if m := ids("member_id"):
        names.members = {r.id: r.name for r in await session.execute(select(Member.id, Member.name).where(Member.id.in_(m)))}
    if st := ids("site_id"):
        for r in await session.execute(select(Site.id, Site.code, Site.timezone).where(Site.id.in_(st))):
            names.sites[r.id], names.zones[r.id] = r.code, r.timezone
    return names
