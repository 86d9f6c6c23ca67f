"""A ticket's device swap (issue 15): the faulty device on the ticket's seat goes to repair and a
device in stock of the same kind, at the same site, takes its place on the seat and lease.

The seat keeps its inclusion: the replacement is `assigned` to the same lease and seat, so the
provisioning pass (provisioning/providers/devices.py, MISSING) counts it as the seat's device of that
kind: it places no second device and flags no shortage, and the faulty one, in repair and off the
lease, is neither counted nor called back. Two swaps wanting one stock device: both lock it (in id
order, with the faulty one, so two swaps never deadlock); the second reads it assigned and is refused.
The pass's own placement takes stock with SKIP LOCKED, so it never takes a device a swap holds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState, ValidationFailed
from domain.helpdesk.history import log_change
from domain.helpdesk.schemas import Requester
from domain.helpdesk.swap_schemas import DeviceSwapIn
from domain.models import Device, Seat, Ticket
from domain.services import device_history
from domain.services.audit import record, snapshot
from domain.services.lookup import get_or_404


async def swap_device(session: AsyncSession, actor: Requester, ticket_id: uuid.UUID, data: DeviceSwapIn) -> tuple[Device, Device]:
    """(faulty, replacement) after the swap. Refusals name the field and change nothing."""
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket", for_update=True)
    if ticket.status == "closed":
        raise InvalidState("the ticket is closed: reopen it to swap a device", field="status")
    if ticket.seat_id is None:
        raise ValidationFailed("the ticket concerns no seat: a swap replaces a device on the ticket's seat", field="seat_id")
    faulty_id = data.faulty_device_id or ticket.device_id
    if faulty_id is None:
        raise ValidationFailed("the ticket names no device: say which one is faulty", field="faulty_device_id")
    if faulty_id == data.replacement_device_id:
        raise ValidationFailed("a device cannot replace itself", field="replacement_device_id")
    locked = (
        select(Device)
        .where(Device.id.in_([faulty_id, data.replacement_device_id]))
        .order_by(Device.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {d.id: d for d in (await session.scalars(locked)).all()}
    faulty, replacement = found.get(faulty_id), found.get(data.replacement_device_id)
    if faulty is None:
        raise ValidationFailed("no such device", field="faulty_device_id")
    if replacement is None:
        raise ValidationFailed("no such device", field="replacement_device_id")
    if faulty.status != "assigned" or faulty.seat_id != ticket.seat_id or faulty.return_due_at is not None:
        raise InvalidState(f"device {faulty.serial} is not on the ticket's seat", field="faulty_device_id")
    if replacement.status != "in_stock":
        raise InvalidState(
            f"device {replacement.serial} is not in stock (it is {replacement.status.replace('_', ' ')})",
            field="replacement_device_id",
        )
    if replacement.kind != faulty.kind:
        raise ValidationFailed(
            f"device {replacement.serial} is a {replacement.kind}, not a {faulty.kind}", field="replacement_device_id"
        )
    if replacement.site_id != faulty.site_id:
        raise ValidationFailed(f"device {replacement.serial} is at another site", field="replacement_device_id")

    before_faulty, before_replacement = snapshot(faulty), snapshot(replacement)
    seat_id, lease_id = faulty.seat_id, faulty.lease_id
    replacement.status, replacement.seat_id, replacement.lease_id, replacement.return_due_at = "assigned", seat_id, lease_id, None
    faulty.status, faulty.seat_id, faulty.lease_id = "in_repair", None, None
    now = datetime.now(UTC)
    ticket.updated_at = now
    await session.flush()
    note = data.note
    await device_history.log(
        session, actor, faulty.id, "swapped_out", ticket_id=ticket.id, seat_id=seat_id, lease_id=lease_id, note=note
    )
    await device_history.log(
        session, actor, replacement.id, "swapped_in", ticket_id=ticket.id, seat_id=seat_id, lease_id=lease_id, note=note
    )
    seat_label = await session.scalar(select(Seat.label).where(Seat.id == seat_id))
    swap = {
        "seat_id": seat_id,
        "seat_label": seat_label,
        "lease_id": lease_id,
        "kind": faulty.kind,
        "faulty_device_id": faulty.id,
        "faulty_serial": faulty.serial,
        "replacement_device_id": replacement.id,
        "replacement_serial": replacement.serial,
        "note": note,
    }
    # the client sees the swap on its ticket (timeline, email, the ticket.updated webhook)
    await log_change(
        session,
        actor,
        ticket,
        kind="device_swap",
        action="ticket.device_swap",
        now=now,
        public=True,
        # the note stays in the devices' history (a repair desk's words), not on the client's timeline
        data={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in swap.items() if k != "note"},
    )
    await record(session, actor, "device.swap_out", "device", faulty.id, before=before_faulty, after=snapshot(faulty))
    await record(
        session, actor, "device.swap_in", "device", replacement.id, before=before_replacement, after=snapshot(replacement)
    )
    await session.flush()
    return faulty, replacement


async def replacement_choices(session: AsyncSession, ticket_id: uuid.UUID) -> tuple[Ticket, list[Device], list[Device]]:
    """The ticket, the devices on its seat (what may be faulty), and the stock each could be swapped
    for (in stock, of a kind on the seat, at the ticket's site), for the admin's swap form."""
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
    on_seat: list[Device] = []
    if ticket.seat_id is not None:
        on_seat = list(
            (
                await session.scalars(
                    select(Device)
                    .where(Device.seat_id == ticket.seat_id, Device.status == "assigned", Device.return_due_at.is_(None))
                    .order_by(Device.kind, Device.serial)
                )
            ).all()
        )
    kinds = sorted({d.kind for d in on_seat})
    stock: list[Device] = []
    if kinds:
        stock = list(
            (
                await session.scalars(
                    select(Device)
                    .where(Device.site_id == ticket.site_id, Device.status == "in_stock", Device.kind.in_(kinds))
                    .order_by(Device.kind, Device.serial)
                    .limit(500)
                )
            ).all()
        )
    return ticket, on_seat, stock
