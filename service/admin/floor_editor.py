"""The floor-plan editor (issue 13): add rows and blocks of seats with generated labels, drag seats to
their places, set zones, maintenance and retiring. Edges only: the use-cases are
domain/leasing/floor_plan.py, the same the API calls; what is saved is what the seat map draws."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from domain.errors import DomainError, NotFound
from domain.leasing import floor_plan
from domain.leasing.floor_map import FloorMap, SeatView, site_floors
from domain.models import Floor, Site
from domain.services import catalog
from domain.services.floor_plan_schemas import FloorLayout, SeatBlockCreate, SeatsRetire, SeatsStatus, SeatsZone
from service.admin.seatmap import plan_background, render_svg
from service.admin.web import CsrfForm, Ops, Staff, attempt, blank_to_none, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

# room to drag seats to, right of and below the floor's seats (grid cells)
EDITOR_MARGIN = (6, 4)
BLOCK_DEFAULTS = {"zone": "", "prefix": "", "rows": "1", "columns": "12", "start": "1", "digits": "2", "x": "", "y": ""}


async def _site_floor(session: SessionDep, site_id: uuid.UUID, floor_id: uuid.UUID) -> tuple[Site, Floor]:
    site = await catalog.get_site(session, site_id)
    floor = await catalog.get_floor(session, floor_id)
    if floor.site_id != site.id:
        raise NotFound("floor not found")
    return site, floor


def _url(site: Site, floor: Floor) -> str:
    return f"/admin/sites/{site.id}/floors/{floor.id}/editor"


async def _page(
    request: Request,
    session: SessionDep,
    site: Site,
    floor: Floor,
    *,
    block: dict[str, Any] | None = None,
    block_errors: dict[str, str] | None = None,
    selection: dict[str, Any] | None = None,
    selection_errors: dict[str, str] | None = None,
    confirm_retire: list[str] | None = None,
    drawing_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    seats = await floor_plan.editor_seats(session, floor.id)
    background = await plan_background(session, site, floor)
    views = [SeatView(s.id, s.label, s.zone, s.x, s.y, s.status, [], "free" if s.status == "active" else s.status) for s in seats]
    fm = FloorMap(site, floor, date.today(), None, views)
    counts: dict[str, int] = {}
    for v in views:
        counts[v.state] = counts.get(v.state, 0) + 1
    return render(
        request,
        "floor_editor.html",
        {
            "site": site,
            "floor": floor,
            "floors": await site_floors(session, site.id),
            "zones": await catalog.list_zones(session, floor.id),
            "svg": render_svg(fm, margin=EDITOR_MARGIN, grid=True, background=background),
            "has_drawing": background is not None,
            "drawing_errors": drawing_errors or {},
            "seat_count": len(views),
            "counts": counts,
            "url": _url(site, floor),
            "block": {**BLOCK_DEFAULTS, **(block or {})},
            "block_errors": block_errors or {},
            "selection": selection or {"labels": "", "zone": "", "x": "", "y": ""},
            "selection_errors": selection_errors or {},
            "confirm_retire": confirm_retire,
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


@router.get("/sites/{site_id}/floors/{floor_id}/editor", response_class=HTMLResponse)
async def editor_page(request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    site, floor = await _site_floor(session, site_id, floor_id)
    return await _page(request, session, site, floor)


@router.post("/sites/{site_id}/floors/{floor_id}/editor/block", response_model=None)
async def add_block(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    """A row or block of seats; a label clash or a bad field is said next to its field."""
    site, floor = await _site_floor(session, site_id, floor_id)
    values = {k: str(form.get(k, "")).strip() for k in BLOCK_DEFAULTS}
    body, errors = validate_form(SeatBlockCreate, {k: v for k, v in blank_to_none(values, "x", "y").items() if v is not None})
    if body is not None:
        made, exc = await attempt(session, lambda: floor_plan.add_seat_block(session, user, site, floor, body))
        if exc is None:
            return redirect(request, _url(site, floor), f"Added {len(made)} seats: {made[0].label} … {made[-1].label}")
        errors = {exc.field or "__all__": exc.detail}
    return await _page(request, session, site, floor, block=values, block_errors=errors, status_code=422)


@router.post("/sites/{site_id}/floors/{floor_id}/editor/layout", response_model=None)
async def save_layout(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    """Where admin.js saves a drop: ``layout`` is the JSON list of {id, x, y}; answers JSON."""
    _, floor = await _site_floor(session, site_id, floor_id)
    try:
        data = json.loads(str(form.get("layout") or ""))
    except ValueError:
        return JSONResponse({"error": "layout: not JSON"}, status_code=422)
    body, errors = validate_form(FloorLayout, {"seats": data})
    if body is None:
        return JSONResponse({"error": "; ".join(f"{k}: {v}" for k, v in errors.items())}, status_code=422)
    moved, exc = await attempt(session, lambda: floor_plan.move_seats(session, user, floor, body))
    if exc is not None:
        return JSONResponse({"error": exc.detail}, status_code=exc.status)
    return JSONResponse({"saved": [{"label": s.label, "x": s.x, "y": s.y} for s in moved]})


@router.post("/sites/{site_id}/floors/{floor_id}/editor/seats", response_model=None)
async def seats_action(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    """The chosen seats (labels, as clicking fills them in): zone, maintenance, back in service, move
    one to a cell, or retire (which asks first)."""
    site, floor = await _site_floor(session, site_id, floor_id)
    values = {k: str(form.get(k, "")).strip() for k in ("labels", "zone", "x", "y")}
    action = str(form.get("action", ""))
    labels = [x for x in values["labels"].replace(";", ",").replace(" ", ",").split(",") if x]
    by_label = {s.label: s for s in await floor_plan.editor_seats(session, floor.id)}
    errors: dict[str, str] = {}
    unknown = [x for x in labels if x not in by_label]
    if not labels:
        errors["labels"] = "click seats on the plan (or type their labels) first"
    elif unknown:
        errors["labels"] = f"no seat {unknown[0]} on this floor"
    if errors:
        return await _page(request, session, site, floor, selection=values, selection_errors=errors, status_code=422)
    ids = [str(by_label[x].id) for x in dict.fromkeys(labels)]
    flash, exc = "", None
    if action == "retire" and form.get("confirm") != "yes":
        return await _page(request, session, site, floor, selection=values, confirm_retire=list(dict.fromkeys(labels)))
    work = _action(session, user, floor, action, ids, values)
    if isinstance(work, dict):
        errors = work
    else:
        flash, exc = await attempt(session, work)
        if exc is not None:
            errors = {_form_field(exc): exc.detail}
    if errors:
        return await _page(request, session, site, floor, selection=values, selection_errors=errors, status_code=422)
    return redirect(request, _url(site, floor), flash)


def _cell(text: str) -> bool:
    return text.isdigit() and int(text) <= 10000


def _form_field(exc: DomainError) -> str:
    field = exc.field or "__all__"
    return "labels" if field.startswith(("seat_ids", "seats")) else field


def _action(session: SessionDep, user: Any, floor: Floor, action: str, ids: list[str], values: dict[str, str]) -> Any:
    """The use-case call for the button pressed, or the form's errors."""
    if action == "zone":
        zone_body, errors = validate_form(SeatsZone, {"seat_ids": ids, "zone": values["zone"]})
        if zone_body is None:
            return errors

        async def zone() -> str:
            done = await floor_plan.set_zone(session, user, floor, zone_body)
            return f"{len(done)} seats in zone {zone_body.zone}"

        return zone
    if action in ("maintenance", "active"):
        status_body = SeatsStatus.model_validate({"seat_ids": ids, "status": action}, strict=False)

        async def status() -> str:
            done = await floor_plan.set_status(session, user, floor, status_body)
            what = "in maintenance" if action == "maintenance" else "back in service"
            return f"{', '.join(s.label for s in done)} {what}"

        return status
    if action == "retire":
        retire_body = SeatsRetire.model_validate({"seat_ids": ids}, strict=False)

        async def retire() -> str:
            done = await floor_plan.retire_seats(session, user, floor, retire_body)
            return f"Retired {', '.join(s.label for s in done)}"

        return retire
    if action == "move":
        if len(ids) != 1:
            return {"labels": "move one seat at a time"}
        bad = {k: f"a {what} number, 0 to 10000" for k, what in (("x", "column"), ("y", "row")) if not _cell(values[k])}
        if bad:
            return bad
        layout = FloorLayout.model_validate(
            {"seats": [{"id": ids[0], "x": int(values["x"]), "y": int(values["y"])}]}, strict=False
        )

        async def move() -> str:
            done = await floor_plan.move_seats(session, user, floor, layout)
            return f"{done[0].label} moved to column {done[0].x}, row {done[0].y}"

        return move
    return {"__all__": "choose an action"}


# ---- the floor's plan drawing ----------------------------------------------------------------


@router.post("/sites/{site_id}/floors/{floor_id}/editor/drawing", response_model=None)
async def upload_drawing(
    request: Request, site_id: uuid.UUID, floor_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    """Upload (PNG or JPEG, told by its bytes) or remove the floor's plan drawing."""
    site, floor = await _site_floor(session, site_id, floor_id)
    if form.get("action") == "remove":
        await floor_plan.remove_plan_image(session, user, floor)
        return redirect(request, _url(site, floor), "Plan drawing removed")
    upload = form.get("image")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, session, site, floor, drawing_errors={"image": "choose a PNG or JPEG file"}, status_code=422)
    if (upload.size or 0) > floor_plan.MAX_PLAN_IMAGE_BYTES:
        data = b"\0" * (floor_plan.MAX_PLAN_IMAGE_BYTES + 1)  # said as too big, without reading it
    else:
        data = await upload.read(floor_plan.MAX_PLAN_IMAGE_BYTES + 1)
    cells_text = str(form.get("width_cells") or "").strip()
    if cells_text and not cells_text.isdigit():
        return await _page(request, session, site, floor, drawing_errors={"width_cells": "a number of columns"}, status_code=422)
    cells = int(cells_text) if cells_text else None
    _, exc = await attempt(session, lambda: floor_plan.set_plan_image(session, user, floor, data, cells))
    if exc is not None:
        errors = {exc.field or "image": exc.detail}
        return await _page(request, session, site, floor, drawing_errors=errors, status_code=422)
    return redirect(request, _url(site, floor), "Plan drawing saved")


@router.get("/sites/{site_id}/floors/{floor_id}/plan-image", response_model=None)
async def drawing(site_id: uuid.UUID, floor_id: uuid.UUID, user: Staff, session: SessionDep) -> Response:
    """The drawing's bytes, as stored (PNG or JPEG only); its URL carries its version, so it caches."""
    _, floor = await _site_floor(session, site_id, floor_id)
    image = await floor_plan.plan_image(session, floor.id)
    return Response(
        image.data,
        media_type=image.content_type,
        headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"},
    )
