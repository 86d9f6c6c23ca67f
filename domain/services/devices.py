"""Devices: the inventory staff add and update, and the read-models the API and the admin show.

Placing a device on a leased seat and marking it for return are the provisioning pass's work
(`provisioning/providers/devices.py`); people only add devices, take them back, or change their
status to one a lease does not set.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState, ValidationFailed
from domain.models import Device, DeviceShortage, Seat, Site
from domain.services import device_history as history
from domain.services.audit import Actor, record, snapshot
from domain.services.device_schemas import DeviceCreate, DeviceUpdate
from domain.services.lookup import get_or_404
from domain.services.paging import keyset_page

DEVICE_STATUSES = ("in_stock", "assigned", "in_repair", "retired")


async def create_device(session: AsyncSession, actor: Actor, data: DeviceCreate) -> Device:
    """A new device in stock (or in repair, or retired): never `assigned`, which only a lease does."""
    if await session.get(Site, data.site_id) is None:
        raise ValidationFailed("no such site", field="site_id")
    if data.status == "assigned":
        raise ValidationFailed("a device is assigned by a lease, not created assigned", field="status")
    if await session.scalar(select(Device.id).where(Device.serial == data.serial)):
        raise ValidationFailed("a device with this serial exists", field="serial")
    device = Device(**data.model_dump())
    session.add(device)
    await session.flush()
    await record(session, actor, "device.create", "device", device.id, after=snapshot(device))
    await history.log(session, actor, device.id, "created")
    return device


async def update_device(session: AsyncSession, actor: Actor, device_id: uuid.UUID, changes: DeviceUpdate) -> Device:
    """Back in stock (`returned`), a new status, or a new model name; audited with before and after.

    Any status but `assigned` takes the device off its seat and lease; `assigned` is only kept, never
    set, because a lease assigns."""
    device = await get_or_404(session, Device, device_id, "device", for_update=True)
    before = snapshot(device)
    if changes.returned and not can_mark_returned(device):
        raise InvalidState(
            f"the device is {device.status.replace('_', ' ')} and not due back: only a device out with a lease comes back",
            field="returned",
        )
    if changes.returned:
        device.status, device.seat_id, device.lease_id, device.return_due_at = "in_stock", None, None, None
    if changes.status is not None:
        if changes.status == "assigned" and device.status != "assigned":
            raise ValidationFailed("a device is assigned by a lease", field="status")
        if changes.status != "assigned":
            device.seat_id, device.lease_id, device.return_due_at = None, None, None
        device.status = changes.status
    if changes.model is not None:
        device.model = changes.model
    await session.flush()
    await record(session, actor, "device.update", "device", device.id, before=before, after=snapshot(device))
    kind = _history_kind(before["status"], device.status, bool(changes.returned))
    if kind is not None:
        seat, lease = before["seat_id"], before["lease_id"]
        await history.log(
            session,
            actor,
            device.id,
            kind,
            seat_id=uuid.UUID(seat) if seat else None,
            lease_id=uuid.UUID(lease) if lease else None,
            note=changes.note or "",
        )
    return device


def _history_kind(old: str, new: str, returned: bool) -> str | None:
    """What a staff change means in the device's history; None: the status did not change."""
    if returned:
        return "returned"
    if old == new:
        return None
    if new == "in_repair":
        return "repair_started"
    if new == "retired":
        return "retired"
    if old == "in_repair" and new == "in_stock":
        return "repaired"
    return "status_change"


async def list_devices(
    session: AsyncSession,
    *,
    site_id: uuid.UUID | None = None,
    status: str | None = None,
    kind: str | None = None,
    awaiting_return: bool | None = None,
    serial: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[Device], str | None]:
    """A page of devices by id, filtered (``serial``: any part of it, case-insensitive); and the cursor of the next page."""
    stmt = select(Device)
    if serial:
        stmt = stmt.where(Device.serial.ilike(_like(serial.strip()), escape="\\"))
    if site_id:
        stmt = stmt.where(Device.site_id == site_id)
    if status:
        stmt = stmt.where(Device.status == status)
    if kind:
        stmt = stmt.where(Device.kind == kind)
    if awaiting_return is not None:
        stmt = stmt.where(Device.return_due_at.is_not(None) if awaiting_return else Device.return_due_at.is_(None))
    return await keyset_page(session, stmt, Device.id, cursor, limit)


class DeviceRow(NamedTuple):
    """A device with where it is, for the inventory screen."""

    device: Device
    site_code: str
    seat_label: str | None


class OutForReturn(NamedTuple):
    device: Device
    site_code: str


class DeviceFilter(NamedTuple):
    """The inventory's filters; every one optional. ``serial`` matches any part, case-insensitive."""

    site_id: uuid.UUID | None = None
    status: str | None = None
    kind: str | None = None
    awaiting_return: bool = False
    serial: str | None = None


class Inventory(NamedTuple):
    """A page of the inventory screen: its devices (newest first), the cursor of the next page,
    the sites and kinds to filter by, how many devices are to collect."""

    rows: list[DeviceRow]
    next_cursor: str | None
    sites: list[Site]
    kinds: list[str]
    out_count: int


def can_mark_returned(device: Device) -> bool:
    """Only a device out with a lease (assigned) or due back can come back: one in stock is here,
    one in repair comes back by a status change, a retired one never."""
    return device.status == "assigned" or device.return_due_at is not None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _inventory_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        at, _, ident = cursor.partition("_")
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except ValueError as exc:
        raise ValidationFailed("not a cursor from a previous page", field="cursor") from exc


async def inventory(session: AsyncSession, f: DeviceFilter, *, cursor: str | None = None, limit: int = 50) -> Inventory:
    """A page of devices, newest added first (a device just added is on the first page), after
    ``cursor`` (the `next_cursor` of the previous page: stable while devices are added)."""
    stmt = select(Device, Site.code, Seat.label).join(Site, Site.id == Device.site_id).outerjoin(Seat, Seat.id == Device.seat_id)
    if f.site_id:
        stmt = stmt.where(Device.site_id == f.site_id)
    if f.status in DEVICE_STATUSES:
        stmt = stmt.where(Device.status == f.status)
    if f.awaiting_return:
        stmt = stmt.where(Device.return_due_at.is_not(None))
    if f.kind:
        stmt = stmt.where(Device.kind == f.kind[:32])
    if f.serial:
        stmt = stmt.where(Device.serial.ilike(_like(f.serial.strip()[:100]), escape="\\"))
    after = _inventory_cursor(cursor)
    if after is not None:
        stmt = stmt.where(tuple_(Device.created_at, Device.id) < tuple_(literal(after[0]), literal(after[1])))
    ordered = stmt.order_by(Device.created_at.desc(), Device.id.desc()).limit(limit + 1)
    found = [DeviceRow(*r) for r in (await session.execute(ordered)).tuples()]
    rows = found[:limit]
    nxt = f"{rows[-1].device.created_at.isoformat()}_{rows[-1].device.id}" if len(found) > limit else None
    sites = list((await session.scalars(select(Site).order_by(Site.code))).all())
    kinds = list((await session.scalars(select(Device.kind).distinct().order_by(Device.kind))).all())
    return Inventory(rows, nxt, sites, kinds, await count_out_for_return(session))


async def count_out_for_return(session: AsyncSession) -> int:
    """Devices marked to come back from leases that no longer hold their seat."""
    return int(await session.scalar(select(func.count(Device.id)).where(Device.return_due_at.is_not(None))) or 0)


async def out_for_return(session: AsyncSession, limit: int = 10) -> list[OutForReturn]:
    """The devices to collect soonest, with their site."""
    rows = await session.execute(
        select(Device, Site.code)
        .join(Site, Site.id == Device.site_id)
        .where(Device.return_due_at.is_not(None))
        .order_by(Device.return_due_at)
        .limit(limit)
    )
    return [OutForReturn(*r) for r in rows.tuples()]


async def lease_devices(session: AsyncSession, lease_id: uuid.UUID) -> list[Device]:
    return list((await session.scalars(select(Device).where(Device.lease_id == lease_id).order_by(Device.serial))).all())


async def open_shortages(session: AsyncSession, lease_id: uuid.UUID) -> list[DeviceShortage]:
    """The seats of a lease still short of a device kind its plan includes."""
    return list(
        (
            await session.scalars(
                select(DeviceShortage).where(DeviceShortage.lease_id == lease_id, DeviceShortage.resolved_at.is_(None))
            )
        ).all()
    )
