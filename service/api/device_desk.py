"""The help desk's devices and money (issue 15): a device's history, a ticket's device swap, and
(later in this file) a ticket's downtime credits. Parse, call the use-case, render."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from billing import downtime
from billing.downtime_schemas import AffectedSeatIn, CreditNoteBrief, DowntimeCreditOut, DowntimeLineOut, TicketCreditsOut
from domain.helpdesk import affected_seats, swaps
from domain.helpdesk.swap_schemas import DeviceSwapIn, DeviceSwapOut
from domain.models import Ticket
from domain.services import device_history
from domain.services.device_schemas import Device, DeviceEventOut, DeviceHistoryOut, DeviceTicketOut
from domain.services.lookup import get_or_404
from service.auth import StaffOrFinance, StaffUser
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


# --- downtime credits (issue 15) ---
def _credits_out(ticket_id: uuid.UUID, seats: list[uuid.UUID], views: list[downtime.CreditView]) -> TicketCreditsOut:
    out = []
    for v in views:
        c, cn = v.credit, v.credit_note
        out.append(
            DowntimeCreditOut(
                id=c.id,
                ticket_id=c.ticket_id,
                lease_id=c.lease_id,
                client_id=c.client_id,
                period=c.period,
                currency=c.currency,
                hours_lost=str(c.hours_lost),
                amount_minor=c.amount_minor,
                status=c.status,
                note=c.note,
                invoice_id=c.invoice_id,
                invoice_number=v.invoice_label,
                credit_note=CreditNoteBrief.model_validate(cn, from_attributes=True) if cn else None,
                lines=[DowntimeLineOut.model_validate(line) for line in c.lines],
                created_at=c.created_at,
            )
        )
    return TicketCreditsOut(ticket_id=ticket_id, affected_seat_ids=seats, credits=out)


async def _view(session: AsyncSession, ticket_id: uuid.UUID) -> TicketCreditsOut:
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
    seats = await affected_seats.affected_seat_ids(session, ticket)
    return _credits_out(ticket.id, seats, await downtime.credit_views(session, ticket.id))


@router.get(
    "/v1/tickets/{ticket_id}/downtime-credits",
    response_model=TicketCreditsOut,
    summary="A ticket's affected seats and downtime credits (admin, facility staff, finance)",
    description=(
        "The seats the outage took down (the ticket's seat and those added) and, per lease, the service credit "
        "proposed: hours lost, amount (before tax), its computation per seat and month (shift, hours lost, the "
        "seat's leased hours that month, monthly price, amount) and the credit note's state. 404 for no such ticket."
    ),
)
async def ticket_downtime_credits(ticket_id: uuid.UUID, user: StaffOrFinance, session: SessionDep) -> TicketCreditsOut:
    return await _view(session, ticket_id)


@router.post(
    "/v1/tickets/{ticket_id}/downtime-credits",
    response_model=TicketCreditsOut,
    summary="Propose a resolved outage's downtime credits now (admin, facility staff, finance)",
    description=(
        "What the worker does for every resolved power or network ticket, at once for this one: per lease "
        "whose affected seats lost leased hours, a credit note against the client's issued invoice for the "
        "month the outage began (pending finance approval above `SEATLEASE_CREDIT_APPROVAL_MINOR`, else "
        "issued), or `awaiting_invoice` until that invoice is issued. Never twice: calling it again changes "
        "nothing. 409 `category` for a ticket that is not an outage, 409 `status` for one not resolved."
    ),
)
async def propose_downtime_credits(
    ticket_id: uuid.UUID, request: Request, user: StaffOrFinance, session: SessionDep
) -> TicketCreditsOut:
    await downtime.propose_for_ticket(session, user, ticket_id, request.app.state.settings.downtime_credits())
    return await _view(session, ticket_id)


@router.post(
    "/v1/tickets/{ticket_id}/affected-seats",
    status_code=200,
    response_model=TicketCreditsOut,
    summary="Add a seat an outage took down (admin, facility staff)",
    description=(
        "A seat of the ticket's site that the outage also affected (the ticket's own seat always counts). "
        "Adding it twice changes nothing. 422 `seat_id` for no such seat or one at another site; 409 `seat_id` "
        "once credits were proposed (the seats are then frozen). Audited."
    ),
)
async def add_affected_seat(ticket_id: uuid.UUID, body: AffectedSeatIn, user: StaffUser, session: SessionDep) -> TicketCreditsOut:
    await affected_seats.add_affected_seat(session, user, ticket_id, body.seat_id)
    return await _view(session, ticket_id)


@router.delete(
    "/v1/tickets/{ticket_id}/affected-seats/{seat_id}",
    response_model=TicketCreditsOut,
    summary="Remove a seat added to an outage (admin, facility staff)",
    description=("404 for a seat not added; 409 `seat_id` for the ticket's own seat or once credits were proposed. Audited."),
)
async def remove_affected_seat(
    ticket_id: uuid.UUID, seat_id: uuid.UUID, user: StaffUser, session: SessionDep
) -> TicketCreditsOut:
    await affected_seats.remove_affected_seat(session, user, ticket_id, seat_id)
    return await _view(session, ticket_id)
