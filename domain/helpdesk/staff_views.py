"""The admin's ticket page read-model (issue 15): the names a ticket's ids stand for, its SLA clocks as
staff read them, and the choices of the raise form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.helpdesk.sla import resolution_clock, response_clock
from domain.models import Client, Device, Lease, Member, Seat, Site, Ticket, User
from domain.rules.sla import ClockState, clock_state


@dataclass(frozen=True)
class ClockView:
    name: str  # "first answer" / "resolution"
    state: ClockState
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None


@dataclass(frozen=True)
class TicketFacts:
    site: Site
    seat_label: str | None
    device: str | None  # "headset SN123"
    lease_shift: str | None
    client_name: str | None
    member_name: str | None
    assignee: str | None
    clocks: tuple[ClockView, ClockView]


def clocks_of(ticket: Ticket, now: datetime) -> tuple[ClockView, ClockView]:
    r, s = response_clock(ticket), resolution_clock(ticket)
    return (
        ClockView("first answer", clock_state(r, now), r.due_at, ticket.response_warn_at, r.met_at, r.breached_at),
        ClockView("resolution", clock_state(s, now), s.due_at, ticket.resolution_warn_at, s.met_at, s.breached_at),
    )


async def ticket_facts(session: AsyncSession, ticket: Ticket, now: datetime) -> TicketFacts:
    site = await session.get(Site, ticket.site_id)
    assert site is not None  # a foreign key
    seat = await session.get(Seat, ticket.seat_id) if ticket.seat_id else None
    device = await session.get(Device, ticket.device_id) if ticket.device_id else None
    lease = await session.get(Lease, ticket.lease_id) if ticket.lease_id else None
    client = await session.get(Client, ticket.client_id) if ticket.client_id else None
    member = await session.get(Member, ticket.member_id) if ticket.member_id else None
    assignee = await session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    return TicketFacts(
        site=site,
        seat_label=seat.label if seat else None,
        device=f"{device.kind} {device.serial}" if device else None,
        lease_shift=lease.shift_code if lease else None,
        client_name=client.legal_name if client else None,
        member_name=member.name if member else None,
        assignee=assignee.email if assignee else None,
        clocks=clocks_of(ticket, now),
    )


async def raise_choices(session: AsyncSession) -> tuple[list[Site], list[Client]]:
    """The raise form's sites and clients (by name)."""
    sites = list(await session.scalars(select(Site).order_by(Site.code)))
    clients = list(await session.scalars(select(Client).order_by(Client.legal_name)))
    return sites, clients


async def seat_by_label(session: AsyncSession, site_id: uuid.UUID, label: str) -> Seat | None:
    """The raise form names a seat as people do, by its label on the chosen site."""
    found: Seat | None = await session.scalar(select(Seat).where(Seat.site_id == site_id, Seat.label == label))
    return found


async def device_by_serial(session: AsyncSession, serial: str) -> Device | None:
    found: Device | None = await session.scalar(select(Device).where(Device.serial == serial))
    return found
