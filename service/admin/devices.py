"""Devices and their returns: the inventory screen (paged, filtered by site, kind, state and a
serial search), adding a device, taking one back in stock.

The same use-cases as the API's /v1/devices (`domain.services.devices`)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.services import devices
from domain.services.device_schemas import DeviceCreate, DeviceUpdate
from service.admin.web import CsrfForm, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()
FILTERS = ("site_id", "kind", "status", "awaiting_return", "q")
PAGE_SIZE = 50


def _filters(params: dict[str, Any], errors: dict[str, str]) -> devices.DeviceFilter:
    site_id: uuid.UUID | None = None
    if params.get("site_id"):
        try:
            site_id = uuid.UUID(str(params["site_id"]))
        except ValueError:
            errors["site_id"] = "not a valid choice"
    status = str(params.get("status") or "") or None
    if status and status not in devices.DEVICE_STATUSES:
        errors["status"] = "not a valid choice"
    return devices.DeviceFilter(
        site_id=site_id,
        status=status,
        kind=str(params.get("kind") or "")[:32] or None,
        awaiting_return=bool(params.get("awaiting_return")),
        serial=str(params.get("q") or "")[:100] or None,
    )


async def _devices_page(
    request: Request,
    session: AsyncSession,
    params: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    filter_errors: dict[str, str] = {}
    f = _filters(params, filter_errors)
    cursor = str(params.get("after") or "") or None
    page_error = None
    try:
        inventory = await devices.inventory(session, f, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed as exc:  # a cursor that no page gave: the first page, said so
        page_error = exc.detail
        inventory = await devices.inventory(session, f, limit=PAGE_SIZE)
    query = {k: str(params[k]) for k in FILTERS if params.get(k)}
    return render(
        request,
        "devices.html",
        {
            "rows": inventory.rows,
            "sites": inventory.sites,
            "kinds": inventory.kinds,
            "f": {k: str(params.get(k) or "") for k in FILTERS},
            "filter_errors": filter_errors,
            "page_error": page_error,
            "errors": errors or {},
            "v": values or {},
            "out_count": inventory.out_count,
            "can_return": devices.can_mark_returned,
            "next_url": (
                f"/admin/devices?{urlencode({**query, 'after': inventory.next_cursor})}" if inventory.next_cursor else None
            ),
            "first_url": f"/admin/devices?{urlencode(query)}" if cursor else None,
            "flash": request.query_params.get("flash"),
        },
        status_code=422 if filter_errors else status_code,
    )


@router.get("/devices", response_class=HTMLResponse)
async def devices_page(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    params = {k: v[:200] for k, v in request.query_params.items() if k in (*FILTERS, "after")}
    return await _devices_page(request, session, params)


@router.post("/devices", response_model=None)
async def create_device(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(DeviceCreate, {k: values.get(k, "") for k in ("serial", "kind", "model", "site_id")})
    if body is not None:
        _, error = await attempt(session, lambda: devices.create_device(session, user, body))
        if error is None:
            return redirect(request, "/admin/devices", f"Device {body.serial} added")
        errors = {error.field or "__all__": error.detail}
    return await _devices_page(request, session, {}, errors=errors, values=values, status_code=422)


@router.post("/devices/{device_id}/returned", response_model=None)
async def device_returned(request: Request, device_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    """Back in stock; only a device out with a lease or due back (the use-case refuses the others)."""
    _, error = await attempt(session, lambda: devices.update_device(session, user, device_id, DeviceUpdate(returned=True)))
    if error is not None:
        if error.status == 404:
            raise error
        return redirect(request, "/admin/devices", f"Not returned: {error.detail}")
    return redirect(request, "/admin/devices?awaiting_return=1", "Device back in stock")
