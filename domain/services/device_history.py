"""A device's history (issue 15): every use-case that changes a device writes one `DeviceEvent` here,
in its own transaction; the device's page and the API read it back with its tickets.

Writers: domain/services/devices.py (added, returned, repair, retired, status), the provisioning pass
(provisioning/providers/devices.py: placed, moved, due back) and the ticket swap
(domain/helpdesk/swaps.py: swapped out and in)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Device, DeviceEvent, Seat, Ticket
from domain.services.audit import Actor
from domain.services.lookup import get_or_404


async def log(
    session: AsyncSession,
    actor: Actor,
    device_id: uuid.UUID,
    kind: str,
    *,
    ticket_id: uuid.UUID | None = None,
    seat_id: uuid.UUID | None = None,
    lease_id: uuid.UUID | None = None,
    note: str = "",
) -> None:
    session.add(
        DeviceEvent(
            device_id=device_id,
            kind=kind,
            ticket_id=ticket_id,
            seat_id=seat_id,
            lease_id=lease_id,
            actor_id=actor.subject,
            actor=actor.label,
            note=note,
        )
    )


async def log_many(session: AsyncSession, actor: Actor, kind: str, rows: Sequence[dict[str, object]]) -> None:
    """One event per row (`device_id`, and optionally `seat_id`, `lease_id`, `note`) in one statement:
    the provisioning pass places or calls back many devices at once."""
    if rows:
        await session.execute(
            insert(DeviceEvent),
            [
                {
                    "device_id": r["device_id"],
                    "kind": kind,
                    "seat_id": r.get("seat_id"),
                    "lease_id": r.get("lease_id"),
                    "note": r.get("note", ""),
                    "actor_id": actor.subject,
                    "actor": actor.label,
                }
                for r in rows
            ],
        )


class HistoryRow(NamedTuple):
    id: int
    at: datetime
    kind: str
    ticket_id: uuid.UUID | None
    ticket_number: int | None
    seat_id: uuid.UUID | None
    seat_label: str | None
    lease_id: uuid.UUID | None
    actor: str
    note: str


class TicketRow(NamedTuple):
    id: uuid.UUID
    number: int
    subject: str
    category: str
    status: str
    created_at: datetime


class DeviceHistory(NamedTuple):
    device: Device
    events: list[HistoryRow]
    tickets: list[TicketRow]  # tickets about the device, and the tickets that swapped it
    repairs: int  # times it went to repair
    swaps: int  # times a ticket swapped it out


async def device_history(session: AsyncSession, device_id: uuid.UUID) -> DeviceHistory:
    """The device's events, newest first, with the tickets that concern it (404 for no such device)."""
    device = await get_or_404(session, Device, device_id, "device")
    rows = (
        await session.execute(
            select(
                DeviceEvent.id,
                DeviceEvent.at,
                DeviceEvent.kind,
                DeviceEvent.ticket_id,
                Ticket.number,
                DeviceEvent.seat_id,
                Seat.label,
                DeviceEvent.lease_id,
                DeviceEvent.actor,
                DeviceEvent.note,
            )
            .outerjoin(Ticket, Ticket.id == DeviceEvent.ticket_id)
            .outerjoin(Seat, Seat.id == DeviceEvent.seat_id)
            .where(DeviceEvent.device_id == device_id)
            .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
        )
    ).all()
    events = [HistoryRow._make(r) for r in rows]
    swap_tickets = select(DeviceEvent.ticket_id).where(DeviceEvent.device_id == device_id, DeviceEvent.ticket_id.is_not(None))
    tickets = (
        await session.execute(
            select(Ticket.id, Ticket.number, Ticket.subject, Ticket.category, Ticket.status, Ticket.created_at)
            .where((Ticket.device_id == device_id) | Ticket.id.in_(swap_tickets))
            .order_by(Ticket.created_at.desc())
        )
    ).all()
    return DeviceHistory(
        device,
        events,
        [TicketRow._make(t) for t in tickets],
        repairs=sum(1 for e in events if e.kind in ("repair_started", "swapped_out")),
        swaps=sum(1 for e in events if e.kind == "swapped_out"),
    )
