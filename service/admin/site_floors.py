"""Issue 13, set-up pages: a floor's page (its name and level, its zones named before seats are drawn,
a link to the floor-plan editor) and a shift's page (its name, and its hours while no lease booked
them). The same use-cases as PATCH /v1/floors/{id}, /v1/floors/{id}/zones, /v1/zones/{id} and
/v1/shifts/{id}."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.models import Floor, Shift, Site
from domain.services import catalog, site_setup
from domain.services.setup_schemas import FloorUpdate, ShiftUpdate, ZoneCreate, ZoneUpdate
from service.admin.sites import form_values
from service.admin.web import CsrfForm, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()


async def _floor_of(session: AsyncSession, site_id: uuid.UUID, floor_id: uuid.UUID) -> tuple[Site, Floor]:
    site = await catalog.get_site(session, site_id)
    floor = await catalog.get_floor(session, floor_id)
    if floor.site_id != site.id:
        raise NotFound("floor not found")
    return site, floor


async def _floor_page(
    request: Request,
    session: AsyncSession,
    site_id: uuid.UUID,
    floor_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    site, floor = await _floor_of(session, site_id, floor_id)
    v = {"name": floor.name, "level": str(floor.level), **(values or {})}
    return render(
        request,
        "floor_detail.html",
        {
            "site": site,
            "floor": floor,
            "zones": await catalog.list_zones(session, floor.id),
            "v": v,
            "errors": errors or {},
            "flash": request.query_params.get("flash"),
        },
        status_code=422 if errors else 200,
    )


@router.get("/sites/{site_id}/floors/{floor_id}", response_class=HTMLResponse)
async def floor_detail(request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _floor_page(request, session, site_id, floor_id)


@router.post("/sites/{site_id}/floors/{floor_id}", response_model=None)
async def update_floor(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    _, floor = await _floor_of(session, site_id, floor_id)
    values = form_values(form, ("name", "level"))
    body, errors = validate_form(FloorUpdate, {"name": values["name"].strip(), "level": values["level"].strip()})
    if body is not None:
        _, error = await attempt(session, lambda: site_setup.update_floor(session, user, floor, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}/floors/{floor_id}", "Floor saved")
        errors = {error.field or "__all__": error.detail}
    return await _floor_page(request, session, site_id, floor_id, errors=errors, values=values)


@router.post("/sites/{site_id}/floors/{floor_id}/zones", response_model=None)
async def create_zone(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    _, floor = await _floor_of(session, site_id, floor_id)
    values = form_values(form, ("zone_code", "zone_name"))
    body, errs = validate_form(ZoneCreate, {"code": values["zone_code"].strip(), "name": values["zone_name"].strip()})
    if body is not None:
        zone, error = await attempt(session, lambda: site_setup.create_zone(session, user, floor, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}/floors/{floor_id}", f"Zone {zone.code} named")
        errs = {error.field or "__all__": error.detail}
    errors = {("zone_" + k if k in ("code", "name") else k): v for k, v in errs.items()}
    return await _floor_page(request, session, site_id, floor_id, errors=errors, values=values)


@router.post("/sites/{site_id}/floors/{floor_id}/zones/{zone_id}", response_model=None)
async def rename_zone(
    request: Request,
    site_id: uuid.UUID,
    floor_id: uuid.UUID,
    zone_id: uuid.UUID,
    user: Ops,
    session: SessionDep,
    form: CsrfForm,
) -> Response:
    _, floor = await _floor_of(session, site_id, floor_id)
    zone = await site_setup.get_zone(session, zone_id)
    if zone.floor_id != floor.id:
        raise NotFound("zone not found")
    key = f"zone.{zone.code}"
    values = form_values(form, (key,))
    body, errs = validate_form(ZoneUpdate, {"name": values[key].strip()})
    if body is not None:
        _, error = await attempt(session, lambda: site_setup.update_zone(session, user, zone, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}/floors/{floor_id}", f"Zone {zone.code} renamed")
        errs = {"name": error.detail}
    return await _floor_page(request, session, site_id, floor_id, errors={key: next(iter(errs.values()))}, values=values)


# ---- a shift -------------------------------------------------------------------------------------


async def _shift_of(session: AsyncSession, site_id: uuid.UUID, shift_id: uuid.UUID) -> tuple[Site, Shift]:
    site = await catalog.get_site(session, site_id)
    shift = await site_setup.get_shift_by_id(session, shift_id)
    if shift.site_id != site.id:
        raise NotFound("shift not found")
    return site, shift


async def _shift_page(
    request: Request,
    session: AsyncSession,
    site_id: uuid.UUID,
    shift_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    site, shift = await _shift_of(session, site_id, shift_id)
    v: dict[str, Any] = {"name": shift.name, "starts_at": f"{shift.starts_at:%H:%M}", "ends_at": f"{shift.ends_at:%H:%M}"}
    return render(
        request,
        "shift_edit.html",
        {
            "site": site,
            "shift": shift,
            "leases": (await site_setup.shift_usage(session, site.id)).get(shift.id, 0),
            "v": {**v, **(values or {})},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/sites/{site_id}/shifts/{shift_id}", response_class=HTMLResponse)
async def shift_detail(request: Request, site_id: uuid.UUID, shift_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _shift_page(request, session, site_id, shift_id)


@router.post("/sites/{site_id}/shifts/{shift_id}", response_model=None)
async def update_shift(
    request: Request, site_id: uuid.UUID, shift_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    _, shift = await _shift_of(session, site_id, shift_id)
    values = form_values(form, ("name", "starts_at", "ends_at"))
    body, errors = validate_form(ShiftUpdate, {k: v.strip() for k, v in values.items()})
    if body is not None:
        _, error = await attempt(session, lambda: site_setup.update_shift(session, user, shift, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}", f"Shift {shift.code} saved")
        errors = {error.field or "__all__": error.detail}
    return await _shift_page(request, session, site_id, shift_id, errors=errors, values=values)
