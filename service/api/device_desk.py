"""The help desk's devices and money (issue 15): a device's history, a ticket's device swap, and
(later in this file) a ticket's downtime credits. Parse, call the use-case, render."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from domain.helpdesk import swaps
from domain.helpdesk.swap_schemas import DeviceSwapIn, DeviceSwapOut
from domain.services import device_history
from domain.services.device_schemas import Device, DeviceEventOut, DeviceHistoryOut, DeviceTicketOut
from service.auth import StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(tags=["help desk"])


@router.get(
    "/v1/devices/{device_id}/history",
    response_model=DeviceHistoryOut,
    summary="A device's history (admin, facility staff)",
    description=(
        "Everything that happened to the device, newest first: added, placed on a leased seat, moved with "
        "its seat, due back, returned, swapped out or in by a ticket, sent to repair, repaired, retired or "
        "another status change; each with the ticket, seat, lease, who and a note. Also the tickets about "
        "the device or that swapped it, and how often it went to repair and was swapped out. 404 for no such device."
    ),
)
async def device_history_of(device_id: uuid.UUID, user: StaffUser, session: SessionDep) -> DeviceHistoryOut:
    h = await device_history.device_history(session, device_id)
    return DeviceHistoryOut(
        device=Device.model_validate(h.device),
        events=[DeviceEventOut.model_validate(e._asdict()) for e in h.events],
        tickets=[DeviceTicketOut.model_validate(t._asdict()) for t in h.tickets],
        repairs=h.repairs,
        swaps=h.swaps,
    )


@router.post(
    "/v1/tickets/{ticket_id}/device-swap",
    status_code=200,
    response_model=DeviceSwapOut,
    summary="Swap a ticket's faulty device for one in stock (admin, facility staff)",
    description=(
        "The faulty device on the ticket's seat (`faulty_device_id`, default the ticket's device) goes to "
        "repair, off the seat; `replacement_device_id`, a device in stock of the same kind at the same site, "
        "takes its place on the seat and the same lease, so the seat keeps its inclusion and provisioning "
        "places no other device. The ticket's timeline shows the swap to the client; both devices' history "
        "and the audit record it. Refusals name the field and change nothing: 422 `replacement_device_id` "
        "for another kind, another site or no such device, 409 `replacement_device_id` when it is not in "
        "stock (two swaps for one device: the second gets this), 409 `faulty_device_id` when that device is "
        "not on the ticket's seat, 422 `seat_id` for a ticket about no seat, 409 `status` for a closed ticket. "
        "404 for no such ticket. Idempotency-Key replays the first answer."
    ),
)
async def swap_ticket_device(
    ticket_id: uuid.UUID, body: DeviceSwapIn, user: StaffUser, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    async def make() -> DeviceSwapOut:
        faulty, replacement = await swaps.swap_device(session, user, ticket_id, body)
        return DeviceSwapOut(
            ticket_id=ticket_id, faulty=Device.model_validate(faulty), replacement=Device.model_validate(replacement)
        )

    return await idem.run(session, str(user.subject), body, make, status_code=200)
