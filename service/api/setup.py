"""Issue 13's set-up edits on the API: a floor renamed, zones named per floor, a shift edited, a plan's
inclusions and add-ons added and edited (the admin's set-up pages call the same use-cases)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from domain.schemas import Page
from domain.services import catalog, site_setup
from domain.services.catalog_schemas import Floor, Inclusion, InclusionIn, Shift
from domain.services.setup_schemas import FloorUpdate, InclusionUpdate, ShiftUpdate, Zone, ZoneCreate, ZoneUpdate
from service.auth import AnyUser, StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["sites"])

STAFF = "Roles: admin, facility_staff. "
InclusionCode = Annotated[str, Path(min_length=1, max_length=64)]


@router.patch(
    "/floors/{floor_id}",
    response_model=Floor,
    summary="Rename a floor or change its level",
    description=STAFF + "The fields given change (a name unique on its site: 409 naming `name`).",
)
async def update_floor(floor_id: uuid.UUID, body: FloorUpdate, user: StaffUser, session: SessionDep) -> Floor:
    floor = await catalog.get_floor(session, floor_id)
    return Floor.model_validate(await site_setup.update_floor(session, user, floor, body))


@router.get(
    "/floors/{floor_id}/zones",
    response_model=Page[Zone],
    summary="A floor's zones",
    description="Roles: any signed-in user. The floor's zones by code, with their names and seat counts; a code the "
    "floor's seats carry that nobody has named yet is listed with `id` null and its code as its name.",
)
async def list_zones(floor_id: uuid.UUID, user: AnyUser, session: SessionDep) -> Page[Zone]:
    await catalog.get_floor(session, floor_id)
    return Page(items=[Zone.model_validate(z) for z in await catalog.list_zones(session, floor_id)])


@router.post(
    "/floors/{floor_id}/zones",
    status_code=201,
    response_model=Zone,
    summary="Name a zone of a floor",
    description=STAFF + "A zone's code is what the floor's seats carry as `zone`; name it before seats are drawn, or "
    "name a code seats already use. 409 naming `code` when the floor has the code named.",
)
async def create_zone(
    floor_id: uuid.UUID, body: ZoneCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    floor = await catalog.get_floor(session, floor_id)

    async def make() -> Zone:
        zone = await site_setup.create_zone(session, user, floor, body)
        return next(Zone.model_validate(z) for z in await catalog.list_zones(session, floor.id) if z.id == zone.id)

    return await idem.run(session, str(user.subject), body, make)


@router.patch(
    "/zones/{zone_id}",
    response_model=Zone,
    summary="Rename a zone",
    description=STAFF + "Only the name changes: the code is what the seats carry.",
)
async def update_zone(zone_id: uuid.UUID, body: ZoneUpdate, user: StaffUser, session: SessionDep) -> Zone:
    zone = await site_setup.update_zone(session, user, await site_setup.get_zone(session, zone_id), body)
    return next(Zone.model_validate(z) for z in await catalog.list_zones(session, zone.floor_id) if z.id == zone.id)


@router.patch(
    "/shifts/{shift_id}",
    response_model=Shift,
    summary="Rename a shift or change its hours",
    description=STAFF + "The name changes any time. The hours (HH:MM; a night shift ends before it starts) change "
    "only while no lease other than a cancelled one uses the shift: leases are billed and reported on the hours "
    "they booked, so a change under them is refused with 409 naming `starts_at` or `ends_at` — add a new shift "
    "instead. FULL's hours never change. The code does not change (leases and searches use it).",
)
async def update_shift(shift_id: uuid.UUID, body: ShiftUpdate, user: StaffUser, session: SessionDep) -> Shift:
    shift = await site_setup.get_shift_by_id(session, shift_id)
    return Shift.model_validate(await site_setup.update_shift(session, user, shift, body))


@router.post(
    "/plans/{plan_id}/inclusions",
    status_code=201,
    response_model=Inclusion,
    summary="Add an inclusion or an add-on to a plan",
    description=STAFF + "An add-on (`billing` monthly or one_time, priced per unit) joins the plan at once; leases "
    "buy it only when asked. An included item changes what every booked seat receives, so it is refused (409 "
    "naming `billing`) while the plan has a live lease. 409 naming `code` for a code the plan has.",
)
async def add_inclusion(
    plan_id: uuid.UUID, body: InclusionIn, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    plan = await catalog.get_plan(session, plan_id)

    async def make() -> Inclusion:
        return Inclusion.model_validate(await site_setup.add_inclusion(session, user, plan, body))

    return await idem.run(session, str(user.subject), body, make)


@router.patch(
    "/plans/{plan_id}/inclusions/{code}",
    response_model=Inclusion,
    summary="Edit a plan's inclusion or add-on",
    description=STAFF + "The name changes any time; kind, device kind and quantity per seat only while the plan has "
    "no live lease (409 naming the field). An add-on's price changes from a date with POST /v1/plans/{id}/prices; "
    "its billing never changes.",
)
async def update_inclusion(
    plan_id: uuid.UUID, code: InclusionCode, body: InclusionUpdate, user: StaffUser, session: SessionDep
) -> Inclusion:
    plan = await catalog.get_plan(session, plan_id)
    inc = await site_setup.get_inclusion(session, plan, code)
    return Inclusion.model_validate(await site_setup.update_inclusion(session, user, plan, inc, body))
