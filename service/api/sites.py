"""Sites, floors, shifts, seats, availability."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from domain.leasing import availability as leasing_availability
from domain.services import catalog
from service.api import schemas as s
from service.api.deps import Cursor, Limit, QueryDate
from service.auth import AnyUser, StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["sites"])


@router.post("/sites", status_code=201, response_model=s.Site)
async def create_site(body: s.SiteCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    async def make() -> s.Site:
        return s.Site.model_validate(await catalog.create_site(session, user, body.model_dump()))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites", response_model=s.Page[s.Site])
async def list_sites(user: AnyUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 100) -> s.Page[s.Site]:
    rows, nxt = await catalog.list_sites(session, cursor=cursor, limit=limit)
    return s.Page(items=[s.Site.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/sites/{site_id}", response_model=s.Site)
async def get_site(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> s.Site:
    return s.Site.model_validate(await catalog.get_site(session, site_id))


@router.patch("/sites/{site_id}", response_model=s.Site)
async def update_site(site_id: uuid.UUID, body: s.SiteUpdate, user: StaffUser, session: SessionDep) -> s.Site:
    site = await catalog.get_site(session, site_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return s.Site.model_validate(await catalog.update_site(session, user, site, changes))


@router.post("/sites/{site_id}/floors", status_code=201, response_model=s.Floor)
async def create_floor(
    site_id: uuid.UUID,
    body: s.FloorCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    site = await catalog.get_site(session, site_id)

    async def make() -> s.Floor:
        return s.Floor.model_validate(await catalog.create_floor(session, user, site, body.name, body.level))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/floors", response_model=s.Page[s.Floor])
async def list_floors(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> s.Page[s.Floor]:
    await catalog.get_site(session, site_id)
    rows = await catalog.list_floors(session, site_id)
    return s.Page(items=[s.Floor.model_validate(r) for r in rows])


@router.post("/sites/{site_id}/shifts", status_code=201, response_model=s.Shift)
async def create_shift(
    site_id: uuid.UUID,
    body: s.ShiftCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    site = await catalog.get_site(session, site_id)

    async def make() -> s.Shift:
        return s.Shift.model_validate(await catalog.create_shift(session, user, site, body.model_dump()))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/shifts", response_model=s.Page[s.Shift])
async def list_shifts(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> s.Page[s.Shift]:
    await catalog.get_site(session, site_id)
    rows = await catalog.list_shifts(session, site_id)
    return s.Page(items=[s.Shift.model_validate(r) for r in rows])


@router.post("/sites/{site_id}/seats", status_code=201, response_model=s.Page[s.Seat])
async def create_seats(
    site_id: uuid.UUID,
    body: s.SeatCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    site = await catalog.get_site(session, site_id)
    floor = await catalog.floor_on_site(session, site, body.floor_id)

    async def make() -> s.Page[s.Seat]:
        labels = body.labels if body.labels is not None else [body.label or ""]
        seats = await catalog.create_seats(
            session, user, site, floor, body.zone, labels, x=body.x, y=body.y, columns=body.columns
        )
        return s.Page(items=[s.Seat.model_validate(x) for x in seats])

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/seats", response_model=s.Page[s.Seat])
async def list_seats(
    site_id: uuid.UUID,
    user: AnyUser,
    session: SessionDep,
    floor_id: uuid.UUID | None = None,
    zone: Annotated[str | None, Query(max_length=32, pattern=s.TEXT_PATTERN)] = None,
    status: s.SeatStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 500,
) -> s.Page[s.Seat]:
    await catalog.get_site(session, site_id)
    rows, nxt = await catalog.list_seats(
        session, site_id, floor_id=floor_id, zone=zone, status=status, cursor=cursor, limit=limit
    )
    return s.Page(items=[s.Seat.model_validate(r) for r in rows], next_cursor=nxt)


@router.patch("/seats/{seat_id}", response_model=s.Seat)
async def update_seat(seat_id: uuid.UUID, body: s.SeatUpdate, user: StaffUser, session: SessionDep) -> s.Seat:
    seat = await catalog.get_seat(session, seat_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return s.Seat.model_validate(await catalog.update_seat(session, user, seat, changes))


@router.get("/sites/{site_id}/availability", response_model=s.Availability)
async def availability(
    site_id: uuid.UUID,
    user: AnyUser,
    session: SessionDep,
    shift: Annotated[str, Query(min_length=1, max_length=32)],
    start: QueryDate,
    end: QueryDate | None = None,
    seats: Annotated[int, Query(ge=1, le=2000, description="how many seats to list")] = 50,
) -> s.Availability:
    """Free seats for a shift and date window (`end` empty = open-ended)."""
    count, rows = await leasing_availability.search(session, site_id, shift, start, end, limit=seats)
    return s.Availability(free_count=count, seats=[s.SeatBrief.model_validate(r) for r in rows])
