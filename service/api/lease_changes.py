"""Changes during a term (issue 11): seat moves, floor moves and dated add-on changes.

Roles: a client_admin may move its own agents' seats and change its own add-ons, within its own
leases (another client's lease is 404), never as of a past date: the client portal lets clients
assign agents to seats and move them, and a move changes neither the seat count nor the price.
A whole lease moving floors is staff only: it is the facility's floor plan, and staff may date it
(like any amendment) in the past."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from domain.leasing import addons, moves
from domain.leasing.change_schemas import AddOnChangeIn, AddOnPeriod, FloorMoveIn, SeatMoveIn, SeatMoveOut
from domain.schemas import Page
from service.api.deps import QueryDate
from service.api.leases import load_lease
from service.auth import ClientWriter, StaffUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1/leases", tags=["leases"])

AddOnCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]

SEAT_MOVE = """Move one seat of the lease, and the agent assigned to it, to another free seat of the
same site and shift from `effective` on, in one amendment. Roles: admin, facility_staff; client_admin
for its own leases (not as of a past date).

The old seat is held to the day before `effective`, the new one from `effective` to the lease's end;
the agent's credentials and badge access groups follow on that date, and so do the seat's devices.
The seat count, and so the bill, does not change. Name the seat by `seat_id` or by the agent at it
(`member_id`). **409** `seats-unavailable` when `to_seat_id` is not free for the lease's shift from
that date (a concurrent booking or move of the same seat: exactly one wins); **409** `move-pending`
when the seat already has a move on or after that date (a seat's moves go forward in time); **422** naming the field otherwise."""

FLOOR_MOVE = """Move every seat the lease holds on `effective` to another floor of its site from that
date, in one amendment: to the seats named in `seat_ids` (one per seat held, on that floor) or to
seats the allocator picks there, together. Agents keep their places relative to each other (seats
in label order go to seats in label order); credentials, badge groups and devices follow on the date.
Roles: admin, facility_staff. **409** `seats-unavailable` when the floor has not enough free seats."""

ADD_ON_CHANGE = """Set the quantity of a monthly add-on of the lease's plan from `effective` on: add it,
change it, or remove it (`quantity` 0). Any change of it scheduled on or after that date is
replaced. Invoices prorate each quantity by day; a change dated into a month already invoiced is
trued up on the next invoice. Roles: admin, facility_staff; client_admin for its own leases (not as
of a past date). Answers the add-on periods of the lease."""


@router.post("/{lease_id}/seat-moves", status_code=201, response_model=SeatMoveOut, description=SEAT_MOVE)
async def move_seat(
    lease_id: uuid.UUID, body: SeatMoveIn, user: ClientWriter, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    lease = await load_lease(session, lease_id, user, for_update=True)

    async def make() -> SeatMoveOut:
        return SeatMoveOut.model_validate(await moves.move_seat(session, user, lease, body, is_staff=user.is_staff))

    return await idem.run(session, str(user.subject), body, make)


@router.post("/{lease_id}/floor-moves", status_code=201, response_model=Page[SeatMoveOut], description=FLOOR_MOVE)
async def move_floor(
    lease_id: uuid.UUID, body: FloorMoveIn, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    lease = await load_lease(session, lease_id, user, for_update=True)

    async def make() -> Page[SeatMoveOut]:
        done = await moves.move_floor(session, user, lease, body, is_staff=user.is_staff)
        return Page(items=[SeatMoveOut.model_validate(m) for m in done])

    return await idem.run(session, str(user.subject), body, make)


@router.get("/{lease_id}/seat-moves", response_model=Page[SeatMoveOut])
async def list_seat_moves(lease_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Page[SeatMoveOut]:
    """The lease's seat moves, by date. Roles: staff; a client its own leases."""
    lease = await load_lease(session, lease_id, user)
    return Page(items=[SeatMoveOut.model_validate(m) for m in await moves.lease_moves(session, lease.id)])


@router.get("/{lease_id}/add-ons", response_model=Page[AddOnPeriod])
async def list_add_ons(lease_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Page[AddOnPeriod]:
    """Every dated quantity of the lease's add-ons, past and scheduled. Roles: staff; a client its own leases."""
    lease = await load_lease(session, lease_id, user)
    return Page(items=await addons.add_on_periods(session, lease))


@router.put("/{lease_id}/add-ons/{code}", response_model=Page[AddOnPeriod], description=ADD_ON_CHANGE)
async def change_add_on(
    lease_id: uuid.UUID, code: AddOnCode, body: AddOnChangeIn, user: ClientWriter, session: SessionDep
) -> Page[AddOnPeriod]:
    lease = await load_lease(session, lease_id, user, for_update=True)
    return Page(items=await addons.change_add_on(session, user, lease, code, body, is_staff=user.is_staff))


@router.delete("/{lease_id}/add-ons/{code}", response_model=Page[AddOnPeriod])
async def remove_add_on(
    lease_id: uuid.UUID, code: AddOnCode, effective: QueryDate, user: ClientWriter, session: SessionDep
) -> Page[AddOnPeriod]:
    """Remove the add-on from `effective` on (its last day is the day before): PUT with quantity 0.
    Roles: admin, facility_staff; client_admin for its own leases (not as of a past date)."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    return Page(
        items=await addons.change_add_on(
            session, user, lease, code, AddOnChangeIn(quantity=0, effective=effective), is_staff=user.is_staff
        )
    )
