"""The floor plan: seats added in rows and blocks with generated labels, moved to their places,
zoned, put into maintenance and retired. Each use-case validates, writes and records one audit event.

Positions are grid cells on the floor (``Seat.x`` the column, ``Seat.y`` the row), the same for
every zone: what the editor saves is what the seat map draws (domain/leasing/floor_map.py).
It lives beside the lease aggregate because retiring a seat asks whether a lease holds it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from domain.leasing.seats import lock_seats
from domain.models import Floor, Seat, Site
from domain.models.floor_image import FloorImage
from domain.rules.images import picture_kind
from domain.services import catalog
from domain.services.audit import Actor, record
from domain.services.catalog_schemas import SeatUpdate
from domain.services.floor_plan_schemas import FloorLayout, SeatBlockCreate, SeatsRetire, SeatsStatus, SeatsZone

__all__ = [
    "EditorSeat",
    "PlanImageInfo",
    "add_seat_block",
    "block_labels",
    "editor_seats",
    "move_seats",
    "plan_image",
    "plan_image_info",
    "remove_plan_image",
    "retire_seats",
    "set_plan_image",
    "set_status",
    "set_zone",
    "update_seat",
]


def block_labels(prefix: str, start: int, count: int, digits: int) -> list[str]:
    """``prefix`` + numbers from ``start``, zero-padded to ``digits`` or to what the last one needs
    (so that the labels sort as they are numbered): ("A-", 1, 12, 2) → A-01 … A-12."""
    width = max(digits, len(str(start + count - 1)))
    return [f"{prefix}{n:0{width}d}" for n in range(start, start + count)]


@dataclass(frozen=True)
class EditorSeat:
    id: uuid.UUID
    label: str
    zone: str
    x: int
    y: int
    status: str


_FLOOR_SEATS = select(Seat.id, Seat.label, Seat.zone, Seat.x, Seat.y, Seat.status)


async def editor_seats(session: AsyncSession, floor_id: uuid.UUID) -> list[EditorSeat]:
    """Every seat of the floor, in one query."""
    rows = await session.execute(_FLOOR_SEATS.where(Seat.floor_id == floor_id).order_by(Seat.y, Seat.x, Seat.label))
    return [EditorSeat(*r) for r in rows.all()]


async def _lock_floor(session: AsyncSession, floor: Floor) -> None:
    """Layout changes of one floor one at a time: the overlap check then sees every committed seat."""
    await session.execute(select(Floor.id).where(Floor.id == floor.id).with_for_update())


def _clash(occupied: dict[tuple[int, int], str], x: int, y: int, label: str) -> None:
    other = occupied.get((x, y))
    if other is not None and other != label:
        raise Conflict(f"{label} would sit on {other} (column {x}, row {y})", field="seats")


async def add_seat_block(session: AsyncSession, actor: Actor, site: Site, floor: Floor, body: SeatBlockCreate) -> list[Seat]:
    """A row or block of seats, labelled ``prefix`` + numbers, laid out from column x (0 when not
    given) at row y, or below the floor's seats. A label already used on the site (labels are unique
    per site) is refused by name."""
    if floor.site_id != site.id:
        raise ValidationFailed("floor is not on this site", field="floor_id")
    await _lock_floor(session, floor)
    count = body.rows * body.columns
    labels = block_labels(body.prefix, body.start, count, body.digits)
    taken = sorted((await session.scalars(select(Seat.label).where(Seat.site_id == site.id, Seat.label.in_(labels)))).all())
    if taken:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise Conflict(f"label {taken[0]} is already used on this site{more}", field="prefix")
    x0, y0 = body.x or 0, body.y
    if y0 is None:  # below what the floor has, a row left free for the zone's name
        max_y = await session.scalar(select(func.max(Seat.y)).where(Seat.floor_id == floor.id))
        y0 = 0 if max_y is None else max_y + 2
    seats = [
        Seat(site_id=site.id, floor_id=floor.id, zone=body.zone, label=label, x=x0 + i % body.columns, y=y0 + i // body.columns)
        for i, label in enumerate(labels)
    ]
    occupied = {(s.x, s.y): s.label for s in await editor_seats(session, floor.id)}
    for s in seats:
        _clash(occupied, s.x, s.y, s.label)
    session.add_all(seats)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent request on another floor of the site took a label
        raise Conflict(f"one of the labels {labels[0]} … {labels[-1]} was just used on this site", field="prefix") from exc
    await record(
        session,
        actor,
        "floor.seats_add",
        "floor",
        floor.id,
        after={"zone": body.zone, "labels": labels, "at": [x0, y0], "rows": body.rows, "columns": body.columns},
    )
    return seats


async def _floor_seats(session: AsyncSession, floor: Floor, ids: Sequence[uuid.UUID], field: str) -> list[Seat]:
    """The floor's seats with these ids (one query); a seat not on the floor is refused by its place."""
    seats = {s.id: s for s in (await session.scalars(select(Seat).where(Seat.floor_id == floor.id, Seat.id.in_(ids)))).all()}
    for i, sid in enumerate(ids):
        if sid not in seats:
            raise ValidationFailed(f"no seat {sid} on this floor", field=f"{field}[{i}]")
    return [seats[sid] for sid in ids]


async def move_seats(session: AsyncSession, actor: Actor, floor: Floor, body: FloorLayout) -> list[Seat]:
    """New grid positions for some of the floor's seats, in one statement; no two seats may share a cell."""
    await _lock_floor(session, floor)
    moving = await _floor_seats(session, floor, [p.id for p in body.seats], "seats")
    new_at = {p.id: (p.x, p.y) for p in body.seats}
    occupied = {(s.x, s.y): s.label for s in await editor_seats(session, floor.id) if s.id not in new_at}
    for s in moving:
        x, y = new_at[s.id]
        _clash(occupied, x, y, s.label)
        occupied[(x, y)] = s.label
    before = {s.label: [s.x, s.y] for s in moving}
    await session.execute(update(Seat), [{"id": p.id, "x": p.x, "y": p.y} for p in body.seats])
    for s in moving:  # the objects in the session say what the statement wrote
        s.x, s.y = new_at[s.id]
    await record(session, actor, "floor.layout", "floor", floor.id, before=before, after={s.label: [s.x, s.y] for s in moving})
    return moving


async def set_zone(session: AsyncSession, actor: Actor, floor: Floor, body: SeatsZone) -> list[Seat]:
    seats = await _floor_seats(session, floor, body.seat_ids, "seat_ids")
    before = {s.label: s.zone for s in seats}
    for s in seats:
        s.zone = body.zone
    await session.flush()
    await record(session, actor, "floor.zone", "floor", floor.id, before=before, after={s.label: s.zone for s in seats})
    return seats


async def set_status(session: AsyncSession, actor: Actor, floor: Floor, body: SeatsStatus) -> list[Seat]:
    """Into maintenance or back in service; a retired seat stays retired."""
    seats = await _floor_seats(session, floor, body.seat_ids, "seat_ids")
    retired = [s.label for s in seats if s.status == "retired"]
    if retired:
        raise InvalidState(f"{retired[0]} is retired: a retired seat stays retired", field="seat_ids")
    before = {s.label: s.status for s in seats}
    for s in seats:
        s.status = body.status
    await session.flush()
    await record(session, actor, "floor.status", "floor", floor.id, before=before, after={s.label: s.status for s in seats})
    return seats


# A lease row holds the seat today or later: live (not voided, its lease not cancelled) and ending
# today or later, or yesterday (a night shift's morning tail is today). Proposals and leases waiting
# for approval hold their seats too.
_HELD_FROM = text(
    """
SELECT s.label FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id JOIN seats s ON s.id = ls.seat_id
WHERE ls.seat_id = ANY(CAST(:ids AS uuid[])) AND NOT ls.voided AND l.status <> 'cancelled'
  AND (ls.end_date IS NULL OR ls.end_date >= CAST(:today AS date) - 1)
ORDER BY s.label
"""
)


async def _refuse_held(session: AsyncSession, seats: Sequence[Seat], today: date, field: str = "seat_ids") -> None:
    # the seats' booking locks first: a booking of them waits until this transaction ends
    await lock_seats(session, [s.id for s in seats])
    held = list((await session.scalars(_HELD_FROM, {"ids": [s.id for s in seats], "today": today})).all())
    if held:
        raise InvalidState(
            f"{held[0]} is leased now or later: end or move its lease first, then retire it", field=field, labels=held
        )


async def retire_seats(session: AsyncSession, actor: Actor, floor: Floor, body: SeatsRetire) -> list[Seat]:
    """Retire seats for good (never offered, booked or un-retired); refused while a lease holds one
    today or on a later date."""
    seats = await _floor_seats(session, floor, body.seat_ids, "seat_ids")
    site = await catalog.get_site(session, floor.site_id)
    await _refuse_held(session, seats, catalog.site_today(site))
    before = {s.label: s.status for s in seats}
    for s in seats:
        s.status = "retired"
    await session.flush()
    await record(session, actor, "floor.retire", "floor", floor.id, before=before, after={s.label: s.status for s in seats})
    return seats


async def update_seat(session: AsyncSession, actor: Actor, seat: Seat, body: SeatUpdate) -> Seat:
    """One seat's fields (``PATCH /v1/seats/{id}``) under the floor plan's rules: retiring is refused
    while a lease holds the seat, and a retired seat is not brought back; moving it onto another seat
    is refused."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    status = changes.get("status")
    if seat.status == "retired" and status not in (None, "retired"):
        raise InvalidState(f"{seat.label} is retired: a retired seat stays retired", field="status")
    if status == "retired" and seat.status != "retired":
        site = await catalog.get_site(session, seat.site_id)
        await _refuse_held(session, [seat], catalog.site_today(site), "status")
    if "x" in changes or "y" in changes:
        floor = await catalog.get_floor(session, seat.floor_id)
        await _lock_floor(session, floor)
        occupied = {(s.x, s.y): s.label for s in await editor_seats(session, floor.id) if s.id != seat.id}
        _clash(occupied, changes.get("x", seat.x), changes.get("y", seat.y), seat.label)
    return await catalog.update_seat(session, actor, seat, body)


# ---- the floor's plan drawing, under its seats --------------------------------------------------

MAX_PLAN_IMAGE_BYTES = 2 * 1024 * 1024
MAX_PLAN_IMAGE_PIXELS = 8000  # a side


async def set_plan_image(
    session: AsyncSession, actor: Actor, floor: Floor, data: bytes, width_cells: int | None = None
) -> FloorImage:
    """The floor's plan drawing: a PNG or JPEG (told by its bytes; an SVG is refused, it could carry
    script) of at most 2 MiB and 8,000 pixels a side, spanning ``width_cells`` seat columns (by
    default its width at 40 pixels a column). Replaces the one before."""
    if len(data) > MAX_PLAN_IMAGE_BYTES:
        raise ValidationFailed(f"the picture is {len(data) // 1024} KiB; at most 2 MiB", field="image")
    kind = picture_kind(data)
    if kind is None:
        raise ValidationFailed("a PNG or JPEG picture (SVG and other formats are refused)", field="image")
    content_type, width, height = kind
    if max(width, height) > MAX_PLAN_IMAGE_PIXELS:
        raise ValidationFailed(f"the picture is {width}×{height} pixels; at most 8000 a side", field="image")
    cells = width_cells or max(1, round(width / 40))
    if not 1 <= cells <= 1000:
        raise ValidationFailed("from 1 to 1000 columns", field="width_cells")
    image = await session.get(FloorImage, floor.id)
    before = None
    if image is None:
        image = FloorImage(floor_id=floor.id)
        session.add(image)
    else:
        before = {"content_type": image.content_type, "width_px": image.width_px, "height_px": image.height_px}
    image.content_type, image.data, image.width_px, image.height_px, image.width_cells = content_type, data, width, height, cells
    image.updated_at = datetime.now(UTC)
    await session.flush()
    after = {"content_type": content_type, "width_px": width, "height_px": height, "width_cells": cells, "bytes": len(data)}
    await record(session, actor, "floor.plan_image", "floor", floor.id, before=before, after=after)
    return image


async def remove_plan_image(session: AsyncSession, actor: Actor, floor: Floor) -> None:
    image = await session.get(FloorImage, floor.id)
    if image is None:
        return
    await session.delete(image)
    await session.flush()
    await record(session, actor, "floor.plan_image_removed", "floor", floor.id, before={"content_type": image.content_type})


@dataclass(frozen=True)
class PlanImageInfo:
    """What drawing it takes, without the bytes: its span on the map and a version for caching."""

    width_cells: int
    width_px: int
    height_px: int
    version: int


async def plan_image_info(session: AsyncSession, floor_id: uuid.UUID) -> PlanImageInfo | None:
    row = (
        await session.execute(
            select(FloorImage.width_cells, FloorImage.width_px, FloorImage.height_px, FloorImage.updated_at).where(
                FloorImage.floor_id == floor_id
            )
        )
    ).first()
    return None if row is None else PlanImageInfo(row[0], row[1], row[2], int(row[3].timestamp()))


async def plan_image(session: AsyncSession, floor_id: uuid.UUID) -> FloorImage:
    image = await session.get(FloorImage, floor_id)
    if image is None:
        raise NotFound("this floor has no plan drawing")
    return image
