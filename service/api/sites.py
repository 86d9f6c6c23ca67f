"""Sites, floors, shifts, seats, availability."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from domain.leasing import availability as leasing_availability
from domain.leasing import floor_plan
from domain.leasing.schemas import Availability, SeatBrief
from domain.schemas import TEXT_PATTERN, Page
from domain.services import catalog
from domain.services.catalog_schemas import (
    Floor,
    FloorCreate,
    Seat,
    SeatCreate,
    SeatStatus,
    SeatUpdate,
    Shift,
    ShiftCreate,
    Site,
    SiteCreate,
    SiteUpdate,
)
from service.api.deps import Cursor, Limit, QueryDate
from service.auth import AnyUser, StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["sites"])


@router.post(
    "/sites",
    status_code=201,
    response_model=Site,
    summary="Create a site",
    description="Roles: admin, facility_staff. A site with its time zone (an IANA zone PostgreSQL knows too: 422 "
    "naming `timezone`), currency, tax rate (a fraction: 0.12) and, optionally, its issuing entity (legal name, tax "
    "id, footer, tax label). It starts with the FULL shift. 409 naming `code` for a code in use.",
)
async def create_site(body: SiteCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    async def make() -> Site:
        return Site.model_validate(await catalog.create_site(session, user, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites", response_model=Page[Site])
async def list_sites(user: AnyUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 100) -> Page[Site]:
    """Every site: code, name, time zone, currency, tax rate. Paged by id (`next_cursor`)."""
    rows, nxt = await catalog.list_sites(session, cursor=cursor, limit=limit)
    return Page(items=[Site.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/sites/{site_id}", response_model=Site)
async def get_site(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> Site:
    """One site. 404 for an unknown id."""
    return Site.model_validate(await catalog.get_site(session, site_id))


@router.patch(
    "/sites/{site_id}",
    response_model=Site,
    summary="Edit a site",
    description="Roles: admin, facility_staff. The fields given change. The code only while the site has no lease "
    "(it is on their documents) and the currency only while it has no plan and no lease (409 naming the field).",
)
async def update_site(site_id: uuid.UUID, body: SiteUpdate, user: StaffUser, session: SessionDep) -> Site:
    site = await catalog.get_site(session, site_id)
    return Site.model_validate(await catalog.update_site(session, user, site, body))


@router.post("/sites/{site_id}/floors", status_code=201, response_model=Floor)
async def create_floor(
    site_id: uuid.UUID,
    body: FloorCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Add a floor to a site (name and level). Audited (`floor.create`)."""
    site = await catalog.get_site(session, site_id)

    async def make() -> Floor:
        return Floor.model_validate(await catalog.create_floor(session, user, site, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/floors", response_model=Page[Floor])
async def list_floors(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> Page[Floor]:
    """A site's floors, by level."""
    await catalog.get_site(session, site_id)
    rows = await catalog.list_floors(session, site_id)
    return Page(items=[Floor.model_validate(r) for r in rows])


@router.post("/sites/{site_id}/shifts", status_code=201, response_model=Shift)
async def create_shift(
    site_id: uuid.UUID,
    body: ShiftCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Add a named shift to a site: `code` (kept as given; wherever a shift is asked for it may be given in
    any case), `starts_at`, `ends_at` (a night shift may end the morning after). 409 naming `code` for a code
    the site has already, in any case (`night` when it has `NIGHT`)."""
    site = await catalog.get_site(session, site_id)

    async def make() -> Shift:
        return Shift.model_validate(await catalog.create_shift(session, user, site, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/shifts", response_model=Page[Shift])
async def list_shifts(site_id: uuid.UUID, user: AnyUser, session: SessionDep) -> Page[Shift]:
    """A site's shifts with their hours; `code` is what a booking or an availability search gives as `shift`
    (in any case)."""
    await catalog.get_site(session, site_id)
    rows = await catalog.list_shifts(session, site_id)
    return Page(items=[Shift.model_validate(r) for r in rows])


@router.post("/sites/{site_id}/seats", status_code=201, response_model=Page[Seat])
async def create_seats(
    site_id: uuid.UUID,
    body: SeatCreate,
    user: StaffUser,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Draw seats on a floor of the site: labels (unique on the site: 409 naming `labels`), their zone and how
    many columns they fill. Audited."""
    site = await catalog.get_site(session, site_id)
    floor = await catalog.floor_on_site(session, site, body.floor_id)

    async def make() -> Page[Seat]:
        seats = await catalog.create_seats(session, user, site, floor, body)
        return Page(items=[Seat.model_validate(x) for x in seats])

    return await idem.run(session, str(user.subject), body, make)


@router.get("/sites/{site_id}/seats", response_model=Page[Seat])
async def list_seats(
    site_id: uuid.UUID,
    user: AnyUser,
    session: SessionDep,
    floor_id: uuid.UUID | None = None,
    zone: Annotated[str | None, Query(max_length=32, pattern=TEXT_PATTERN)] = None,
    status: SeatStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 500,
) -> Page[Seat]:
    """A site's seats in label order, as people read them (`A-2` before `A-10`: runs of digits compare as
    numbers), filtered by floor, zone and status. Paged on (label, id): rows added between pages are
    neither skipped nor repeated."""
    await catalog.get_site(session, site_id)
    rows, nxt = await catalog.list_seats(
        session, site_id, floor_id=floor_id, zone=zone, status=status, cursor=cursor, limit=limit
    )
    return Page(items=[Seat.model_validate(r) for r in rows], next_cursor=nxt)


@router.patch("/seats/{seat_id}", response_model=Seat)
async def update_seat(seat_id: uuid.UUID, body: SeatUpdate, user: StaffUser, session: SessionDep) -> Seat:
    """Change one seat: status, zone, grid position. Roles: admin, facility_staff.

    `retired` is refused (409) while a lease holds the seat today or later, and a retired seat stays
    retired (409); a position on another seat of the floor is refused (409). Audited (`seat.update`)."""
    seat = await catalog.get_seat(session, seat_id)
    return Seat.model_validate(await floor_plan.update_seat(session, user, seat, body))


@router.get("/sites/{site_id}/availability", response_model=Availability)
async def availability(
    site_id: uuid.UUID,
    user: AnyUser,
    session: SessionDep,
    shift: Annotated[str, Query(min_length=1, max_length=32)],
    start: QueryDate,
    end: QueryDate | None = None,
    seats: Annotated[int, Query(ge=1, le=2000, description="how many seats to list")] = 50,
) -> Response:
    """Free seats for a shift and date window (`end` empty = open-ended)."""
    count, rows = await leasing_availability.search(session, site_id, shift, start, end, limit=seats)
    # the rows are the database's own typed values: serialized as they are, without validating
    # them again (the search is the hot path the issue measures against its bare SQL)
    page = Availability.model_construct(free_count=count, seats=[SeatBrief.model_construct(**r._asdict()) for r in rows])
    return Response(page.model_dump_json(), media_type="application/json")
