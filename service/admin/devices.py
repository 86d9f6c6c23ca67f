"""Devices and their returns: the inventory screen, adding a device, taking one back in stock.

The same use-cases as the API's /v1/devices (`domain.services.devices`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services import devices
from domain.services.device_schemas import DeviceCreate, DeviceUpdate
from service.admin.web import CsrfForm, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()


async def _devices_page(
    request: Request,
    session: AsyncSession,
    params: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    inventory = await devices.inventory(
        session,
        status=str(params.get("status") or "") or None,
        awaiting_return=bool(params.get("awaiting_return")),
        kind=str(params.get("kind") or "") or None,
    )
    return render(
        request,
        "devices.html",
        {
            "rows": inventory.rows,
            "sites": inventory.sites,
            "f": params,
            "errors": errors or {},
            "v": values or {},
            "out_count": inventory.out_count,
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


@router.get("/devices", response_class=HTMLResponse)
async def devices_page(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    params = {k: v for k, v in request.query_params.items() if k in ("status", "awaiting_return", "kind")}
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
    await devices.update_device(session, user, device_id, DeviceUpdate(returned=True))
    return redirect(request, "/admin/devices?awaiting_return=1", "Device back in stock")
