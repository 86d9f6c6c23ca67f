"""The help desk's devices and money in the admin (issue 15): a device's page with its history and
repairs, a ticket's device swap form, and a ticket's downtime credits. The same use-cases as the
API's (service/api/device_desk.py)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from billing import downtime
from domain.helpdesk import affected_seats, swaps
from domain.helpdesk.swap_schemas import DeviceSwapIn
from domain.models import Site, Ticket
from domain.services import device_history, devices
from domain.services.device_schemas import DeviceUpdate
from domain.services.lookup import get_or_404
from service.admin.web import CsrfForm, Ops, Staff, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

# the repair desk's actions on a device's page: what each sets
REPAIR_ACTIONS = {"repair": "in_repair", "repaired": "in_stock", "retire": "retired"}


@router.get("/devices/{device_id}", response_class=HTMLResponse)
async def device_page(request: Request, device_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    h = await device_history.device_history(session, device_id)
    return render(
        request, "device_detail.html", {"h": h, "d": h.device, "errors": {}, "flash": request.query_params.get("flash")}
    )


@router.post("/devices/{device_id}/repair", response_model=None)
async def device_repair(request: Request, device_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    """Send to repair, back from repair to stock, or retire: with a note kept in the history."""
    action = str(form.get("action") or "")
    note = str(form.get("note") or "").strip()
    errors: dict[str, str] = {}
    if action not in REPAIR_ACTIONS:
        errors["action"] = "not a valid choice"
    body, form_errors = validate_form(DeviceUpdate, {"status": REPAIR_ACTIONS.get(action, "in_stock"), "note": note})
    errors.update(form_errors)
    if body is not None and not errors:
        _, error = await attempt(session, lambda: devices.update_device(session, user, device_id, body))
        if error is None:
            return redirect(request, f"/admin/devices/{device_id}", "Device updated")
        if error.status == 404:
            raise error
        errors[error.field or "__all__"] = error.detail
    h = await device_history.device_history(session, device_id)
    return render(request, "device_detail.html", {"h": h, "d": h.device, "errors": errors, "note": note}, status_code=422)


async def _swap_page(request: Request, session: SessionDep, ticket_id: uuid.UUID, **extra: object) -> HTMLResponse:
    ticket, on_seat, stock = await swaps.replacement_choices(session, ticket_id)
    ctx = {"t": ticket, "on_seat": on_seat, "stock": stock, "errors": {}, "v": {}, "flash": request.query_params.get("flash")}
    return render(request, "ticket_swap.html", {**ctx, **extra}, status_code=422 if extra.get("errors") else 200)


@router.get("/tickets/{ticket_id}/swap", response_class=HTMLResponse)
async def swap_page(request: Request, ticket_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _swap_page(request, session, ticket_id)


@router.post("/tickets/{ticket_id}/swap", response_model=None)
async def swap_submit(request: Request, ticket_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(form.get(k) or "").strip() for k in ("faulty_device_id", "replacement_device_id", "note")}
    data: dict[str, object] = {"replacement_device_id": values["replacement_device_id"], "note": values["note"]}
    if values["faulty_device_id"]:
        data["faulty_device_id"] = values["faulty_device_id"]
    body, errors = validate_form(DeviceSwapIn, data)
    if body is not None:
        done, error = await attempt(session, lambda: swaps.swap_device(session, user, ticket_id, body))
        if error is None:
            faulty, replacement = done
            return redirect(
                request, f"/admin/tickets/{ticket_id}/swap", f"Swapped: {replacement.serial} in, {faulty.serial} to repair"
            )
        if error.status == 404:
            raise error
        errors = {error.field or "__all__": error.detail}
    return await _swap_page(request, session, ticket_id, errors=errors, v=values)


async def _credits_page(request: Request, session: SessionDep, ticket_id: uuid.UUID, **extra: object) -> HTMLResponse:
    ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
    site = await get_or_404(session, Site, ticket.site_id, "site")
    zone = ZoneInfo(site.timezone)
    ctx = {
        "t": ticket,
        "site": site,
        "local": lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else None,
        "seats": await affected_seats.affected_seats_labelled(session, ticket),
        "credits": await downtime.credit_views(session, ticket.id),
        "rule": request.app.state.settings.downtime_credits(),
        "errors": {},
        "v": {},
        "flash": request.query_params.get("flash"),
    }
    return render(request, "ticket_credits.html", {**ctx, **extra}, status_code=422 if extra.get("errors") else 200)


@router.get("/tickets/{ticket_id}/credits", response_class=HTMLResponse)
async def credits_page(request: Request, ticket_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    return await _credits_page(request, session, ticket_id)


@router.post("/tickets/{ticket_id}/credits/seats", response_model=None)
async def credits_add_seat(request: Request, ticket_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    label = str(form.get("seat_label") or "").strip()[:64]
    if not label:
        return await _credits_page(request, session, ticket_id, errors={"seat_id": "name a seat"}, v={"seat_label": label})
    _, error = await attempt(session, lambda: affected_seats.add_affected_seat_by_label(session, user, ticket_id, label))
    if error is None:
        return redirect(request, f"/admin/tickets/{ticket_id}/credits", f"Seat {label} added")
    if error.status == 404:
        raise error
    return await _credits_page(
        request, session, ticket_id, errors={error.field or "__all__": error.detail}, v={"seat_label": label}
    )


@router.post("/tickets/{ticket_id}/credits/seats/{seat_id}/remove", response_model=None)
async def credits_remove_seat(
    request: Request, ticket_id: uuid.UUID, seat_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    _, error = await attempt(session, lambda: affected_seats.remove_affected_seat(session, user, ticket_id, seat_id))
    if error is not None and error.status == 404 and error.field is None and "ticket" in error.detail:
        raise error
    return redirect(
        request, f"/admin/tickets/{ticket_id}/credits", "Seat removed" if error is None else f"Not removed: {error.detail}"
    )


@router.post("/tickets/{ticket_id}/credits/propose", response_model=None)
async def credits_propose(request: Request, ticket_id: uuid.UUID, user: Staff, session: SessionDep, form: CsrfForm) -> Response:
    rule = request.app.state.settings.downtime_credits()
    _, error = await attempt(session, lambda: downtime.propose_for_ticket(session, user, ticket_id, rule))
    if error is None:
        return redirect(request, f"/admin/tickets/{ticket_id}/credits", "Credits proposed")
    if error.status == 404:
        raise error
    return await _credits_page(request, session, ticket_id, errors={error.field or "__all__": error.detail})
