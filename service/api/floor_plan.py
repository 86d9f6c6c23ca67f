"""The floor plan (issue 13): blocks of seats with generated labels, the layout, zones, maintenance,
retiring. Edges only: each route looks the floor up (404), calls one use-case of
domain/leasing/floor_plan.py and renders the seats it changed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from domain.leasing import floor_plan
from domain.schemas import Page
from domain.services import catalog
from domain.services.catalog_schemas import Seat
from domain.services.floor_plan_schemas import FloorLayout, SeatBlockCreate, SeatsRetire, SeatsStatus, SeatsZone
from service.auth import StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1/floors", tags=["sites"])


def _page(seats: Sequence[Any]) -> Page[Seat]:
    return Page(items=[Seat.model_validate(s) for s in seats])


@router.post("/{floor_id}/seat-blocks", status_code=201, response_model=Page[Seat])
async def add_seat_block(
    floor_id: uuid.UUID, body: SeatBlockCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Add a row or a block of seats with generated labels. Roles: admin, facility_staff.

    `rows` × `columns` seats (at most 1,000) labelled `prefix` + a number from `start`, zero-padded to
    `digits` (more when the last number needs it), numbered row by row: `{"prefix": "A-", "columns": 12}`
    makes A-01 … A-12. They are placed with their top-left seat at grid cell (`x`, `y`), or below the
    floor's seats. Labels are unique per site: 409 naming the first label already used; 409 when a
    new seat would sit on an existing one. Audited (`floor.seats_add`). Honours `Idempotency-Key`."""
    floor = await catalog.get_floor(session, floor_id)
    site = await catalog.get_site(session, floor.site_id)

    async def make() -> Page[Seat]:
        return _page(await floor_plan.add_seat_block(session, user, site, floor, body))

    return await idem.run(session, str(user.subject), body, make)


@router.put("/{floor_id}/layout", response_model=Page[Seat])
async def save_layout(floor_id: uuid.UUID, body: FloorLayout, user: StaffUser, session: SessionDep) -> Page[Seat]:
    """Move seats of the floor to new grid cells, in one request. Roles: admin, facility_staff.

    `seats`: `{id, x, y}` for each seat that moves (x the column, y the row on the floor; up to 5,000).
    The seat map draws seats where they are saved. 422 naming `seats[i]` for a seat not on this floor;
    409 when two seats would share a cell (naming both). Audited (`floor.layout`, before and after).
    Saving the same layout again changes nothing."""
    floor = await catalog.get_floor(session, floor_id)
    return _page(await floor_plan.move_seats(session, user, floor, body))


@router.post("/{floor_id}/seats/zone", response_model=Page[Seat])
async def set_zone(floor_id: uuid.UUID, body: SeatsZone, user: StaffUser, session: SessionDep) -> Page[Seat]:
    """Put seats of the floor into a zone. Roles: admin, facility_staff.

    Booking places a seat-count lease's seats together within a zone. 422 naming `seat_ids[i]` for a
    seat not on this floor. Audited (`floor.zone`)."""
    floor = await catalog.get_floor(session, floor_id)
    return _page(await floor_plan.set_zone(session, user, floor, body))


@router.post("/{floor_id}/seats/status", response_model=Page[Seat])
async def set_status(floor_id: uuid.UUID, body: SeatsStatus, user: StaffUser, session: SessionDep) -> Page[Seat]:
    """Put seats into maintenance (`maintenance`) or back in service (`active`). Roles: admin, facility_staff.

    A seat in maintenance is never offered nor booked; leases that hold it keep it. 409 for a retired
    seat (retiring is for good). Audited (`floor.status`)."""
    floor = await catalog.get_floor(session, floor_id)
    return _page(await floor_plan.set_status(session, user, floor, body))


@router.post("/{floor_id}/seats/retire", response_model=Page[Seat])
async def retire_seats(floor_id: uuid.UUID, body: SeatsRetire, user: StaffUser, session: SessionDep) -> Page[Seat]:
    """Retire seats for good. Roles: admin, facility_staff.

    A retired seat is never offered, booked or brought back; the map draws it grey. 409 naming the
    seat when a lease (or a proposal, or one waiting for approval) holds it today or on a later date:
    end or move that lease first. Audited (`floor.retire`)."""
    floor = await catalog.get_floor(session, floor_id)
    return _page(await floor_plan.retire_seats(session, user, floor, body))


_IMAGE_BODY = {
    "required": True,
    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/png", "image/jpeg")},
}


@router.put(
    "/{floor_id}/plan-image",
    status_code=204,
    response_class=Response,
    openapi_extra={"requestBody": _IMAGE_BODY},
)
async def put_plan_image(
    floor_id: uuid.UUID,
    request: Request,
    user: StaffUser,
    session: SessionDep,
    width_cells: Annotated[int | None, Query(ge=1, le=1000, description="seat columns the drawing spans")] = None,
) -> Response:
    """Set the floor's plan drawing, drawn under its seats. Roles: admin, facility_staff.

    The body is the picture itself, PNG or JPEG (told by its bytes, whatever the Content-Type; SVG
    and other formats are refused: 422 on `image`), at most 2 MiB and 8,000 pixels a side. It spans
    `width_cells` seat columns from the top-left cell (by default its width at 40 pixels a column).
    Replaces the drawing before. Audited (`floor.plan_image`)."""
    floor = await catalog.get_floor(session, floor_id)
    data = bytearray()
    async for chunk in request.stream():  # read no more than the limit allows
        data += chunk
        if len(data) > floor_plan.MAX_PLAN_IMAGE_BYTES:
            break
    await floor_plan.set_plan_image(session, user, floor, bytes(data), width_cells)
    return Response(status_code=204)


@router.get(
    "/{floor_id}/plan-image",
    response_class=Response,
    responses={200: {"content": _IMAGE_BODY["content"], "description": "the drawing"}},
)
async def get_plan_image(floor_id: uuid.UUID, user: StaffUser, session: SessionDep) -> Response:
    """The floor's plan drawing as uploaded (PNG or JPEG). Roles: admin, facility_staff. 404 when it has none."""
    floor = await catalog.get_floor(session, floor_id)
    image = await floor_plan.plan_image(session, floor.id)
    return Response(image.data, media_type=image.content_type)


@router.delete("/{floor_id}/plan-image", status_code=204, response_class=Response)
async def delete_plan_image(floor_id: uuid.UUID, user: StaffUser, session: SessionDep) -> Response:
    """Remove the floor's plan drawing (nothing to remove is fine). Roles: admin, facility_staff. Audited."""
    floor = await catalog.get_floor(session, floor_id)
    await floor_plan.remove_plan_image(session, user, floor)
    return Response(status_code=204)
