"""The seat map: every seat of a floor drawn at its position as SVG, coloured by its state on a
date (and shift), with who holds it; seats go into and out of maintenance from the map.

What the map shows is the leasing aggregate's read-model (domain/leasing/floor_map.py); this module
draws it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound, ValidationFailed
from domain.leasing import floor_map
from domain.leasing.floor_map import FloorMap as FloorMap
from domain.leasing.floor_map import SeatView as SeatView
from domain.leasing.floor_map import load_floor_map as load_floor_map
from domain.leasing.floor_map import site_floors as site_floors
from domain.leasing.floor_map import site_shifts as site_shifts
from domain.leasing.floor_plan import PlanImageInfo, plan_image_info
from domain.models import Floor, Shift, Site
from domain.services import catalog
from domain.services.catalog_schemas import SeatUpdate
from service.admin.web import CsrfForm, Ops, Staff, redirect, render
from service.db import SessionDep

router = APIRouter()

CELL_W, CELL_H = 40, 30
SEAT_W, SEAT_H = 34, 24
ZONE_HEADER = 22
# the map scales down to fit its box, but not below this share of its size (then the box scrolls)
MIN_SCALE = 0.55


def render_svg(
    fm: FloorMap,
    *,
    highlight: set[uuid.UUID] | None = None,
    picked: set[str] | None = None,
    margin: tuple[int, int] = (0, 0),
    grid: bool = False,
    background: tuple[str, PlanImageInfo] | None = None,
    titles: Callable[[SeatView], str] | None = None,
) -> Markup:
    """The floor as one SVG: each seat at its grid cell on the floor (as the floor-plan editor placed
    it), each zone's name above its top-left seat. ``margin``: empty columns and rows to the right and
    below (room to drag seats to, in the editor), drawn as a ``grid`` of cells. ``background``: the
    floor's plan drawing (its URL and size), under the seats from the top-left cell. ``titles``: each
    seat's hover text (the client portal's, which never names another tenant); default ``seat_title``."""
    title_of = titles or seat_title
    highlight = highlight or set()
    picked = picked or set()
    parts: list[str] = []
    corner: dict[str, tuple[int, int]] = {}
    max_x = max_y = -1
    for s in fm.seats:
        max_x, max_y = max(max_x, s.x), max(max_y, s.y)
        at = corner.get(s.zone)
        if at is None or (s.y, s.x) < (at[1], at[0]):
            corner[s.zone] = (s.x, s.y)
    cols, rows = max_x + 1 + margin[0], max_y + 1 + margin[1]
    if background is not None:  # the drawing's span, at its aspect
        url, info = background
        img_w = info.width_cells * CELL_W
        img_h = round(img_w * info.height_px / info.width_px)
        cols, rows = max(cols, info.width_cells), max(rows, -(-img_h // CELL_H))
        parts.append(
            f'<image class="plan-image" href="{escape(url)}" x="0" y="{ZONE_HEADER}" width="{img_w}" height="{img_h}" '
            'preserveAspectRatio="none"/>'
        )
    width, height = max(cols, 1) * CELL_W, ZONE_HEADER + max(rows, 1) * CELL_H + 4
    if grid:
        parts.append(
            f'<defs><pattern id="cells" width="{CELL_W}" height="{CELL_H}" patternUnits="userSpaceOnUse" y="{ZONE_HEADER}">'
            f'<path d="M {CELL_W} 0 L 0 0 0 {CELL_H}" class="grid-line"/></pattern></defs>'
            f'<rect class="grid" x="0" y="{ZONE_HEADER}" width="{width}" height="{height - ZONE_HEADER - 4}" fill="url(#cells)"/>'
        )
    for zone in sorted(corner):
        zx, zy = corner[zone]
        parts.append(
            f'<text class="zone-label" data-zone="{escape(zone)}" x="{zx * CELL_W + 2}" '
            f'y="{ZONE_HEADER + zy * CELL_H - 7}">Zone {escape(zone)}</text>'
        )
    for s in fm.seats:
        cls = "seat " + s.state
        if s.id in highlight:
            cls += " highlight"
        if s.label in picked:
            cls += " picked"
        title = escape(title_of(s))
        short = escape(s.label.rsplit("-", 1)[-1])
        parts.append(
            f'<g class="{cls}" data-seat="{s.id}" data-label="{escape(s.label)}" data-state="{s.state}" '
            f'data-zone="{escape(s.zone)}" data-x="{s.x}" data-y="{s.y}" '
            f'transform="translate({s.x * CELL_W},{ZONE_HEADER + s.y * CELL_H})"><title>{title}</title>'
            f'<rect width="{SEAT_W}" height="{SEAT_H}" rx="4"/><text x="{SEAT_W // 2}" y="16">{short}</text></g>'
        )
    # drawn at its size when it fits; scaled down to its box when not, to MIN_SCALE at most
    return Markup(
        f'<svg class="seatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="min-width: {round(width * MIN_SCALE)}px" '
        f'data-cell-w="{CELL_W}" data-cell-h="{CELL_H}" data-top="{ZONE_HEADER}" role="img" '
        f'aria-label="Seat map of {escape(fm.floor.name)}">' + "".join(parts) + "</svg>"
    )


async def plan_background(session: AsyncSession, site: Site, floor: Floor) -> tuple[str, PlanImageInfo] | None:
    """The floor's plan drawing to draw under its seats, if it has one (the URL names its version)."""
    info = await plan_image_info(session, floor.id)
    if info is None:
        return None
    return f"/admin/sites/{site.id}/floors/{floor.id}/plan-image?v={info.version}", info


def seat_title(s: SeatView) -> str:
    if s.status != "active":
        return f"{s.label}: {s.status}"
    if not s.holders:
        return f"{s.label}: free"
    held = "; ".join(f"{h.shift} {h.client} (lease {str(h.lease_id)[:8]}, {h.status})" for h in s.holders)
    return f"{s.label}: {held}"


def parse_day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("not a date (YYYY-MM-DD)", field="day") from exc


async def resolve_shift(session: AsyncSession, site: Site, code: str | None) -> Shift | None:
    if not code:
        return None
    return await catalog.get_shift(session, site.id, code)


@router.get("/map", response_model=None)
async def map_index(user: Staff, session: SessionDep) -> Response:
    sites = await floor_map.all_sites(session)
    site = sites[0] if sites else None
    if site is None:
        return RedirectResponse("/admin/?flash=No+site+yet", status_code=303)
    return RedirectResponse(f"/admin/sites/{site.id}/map", status_code=303)


@router.get("/sites/{site_id}/map", response_class=HTMLResponse)
async def floor_map_page(
    request: Request,
    site_id: uuid.UUID,
    user: Staff,
    session: SessionDep,
    floor_id: uuid.UUID | None = None,
    shift: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[str | None, Query(max_length=10)] = None,
    seat: uuid.UUID | None = None,
) -> HTMLResponse:
    site = await catalog.get_site(session, site_id)
    floors = await site_floors(session, site.id)
    shifts = await site_shifts(session, site.id)
    sites = await floor_map.all_sites(session)
    the_day = parse_day(day, catalog.site_today(site))
    if not floors:
        return render(
            request,
            "map.html",
            {"site": site, "sites": sites, "floors": [], "shifts": shifts, "day": the_day, "shift": shift or "", "fm": None},
        )
    floor = next((f for f in floors if f.id == floor_id), floors[0])
    chosen = await resolve_shift(session, site, shift)
    fm = await load_floor_map(session, site, floor, the_day, chosen)
    panel = None
    if seat is not None:
        panel = await seat_panel_context(session, seat, the_day, chosen)
    return render(
        request,
        "map.html",
        {
            "site": site,
            "sites": sites,
            "floors": floors,
            "floor": floor,
            "shifts": shifts,
            "day": the_day,
            "shift": chosen.code if chosen else "",
            "fm": fm,
            "svg": render_svg(fm, background=await plan_background(session, site, floor)),
            "counts": fm.counts(),
            "panel": panel,
        },
    )


async def seat_panel_context(session: AsyncSession, seat_id: uuid.UUID, day: date, shift: Shift | None) -> dict[str, Any]:
    seat = await catalog.get_seat(session, seat_id)
    site = await catalog.get_site(session, seat.site_id)
    floor = await catalog.get_floor(session, seat.floor_id)
    view = (await load_floor_map(session, site, floor, day, shift, only_seat=seat.id)).seats[0]
    return {"seat": seat, "view": view, "site": site, "floor": floor, "day": day, "shift": shift.code if shift else ""}


@router.get("/seats/{seat_id}/panel", response_class=HTMLResponse)
async def seat_panel(
    request: Request,
    seat_id: uuid.UUID,
    user: Staff,
    session: SessionDep,
    shift: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    seat = await catalog.get_seat(session, seat_id)
    site = await catalog.get_site(session, seat.site_id)
    ctx = await seat_panel_context(
        session, seat_id, parse_day(day, catalog.site_today(site)), await resolve_shift(session, site, shift)
    )
    return render(request, "_seat_panel.html", {"panel": ctx})


@router.post("/seats/{seat_id}/status", response_model=None)
async def seat_status(request: Request, seat_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    """Into or out of maintenance. A seat in maintenance is never offered or booked."""
    status = str(form.get("status", ""))
    if status not in ("active", "maintenance"):
        raise ValidationFailed("status must be active or maintenance", field="status")
    seat = await catalog.get_seat(session, seat_id)
    if seat.status == "retired":
        raise ValidationFailed("a retired seat stays retired", field="status")
    await catalog.update_seat(session, user, seat, SeatUpdate.model_validate({"status": status}))
    site = await catalog.get_site(session, seat.site_id)
    day = parse_day(str(form.get("day") or ""), catalog.site_today(site))
    shift_code = str(form.get("shift") or "")
    if request.headers.get("HX-Request") == "true":
        ctx = await seat_panel_context(session, seat.id, day, await resolve_shift(session, site, shift_code))
        what = "in maintenance" if status == "maintenance" else "back in service"
        return render(request, "_seat_panel.html", {"panel": ctx, "flash": f"{seat.label} is {what}"})
    return redirect(request, f"/admin/sites/{site.id}/map?floor_id={seat.floor_id}&day={day}&shift={shift_code}&seat={seat.id}")


async def get_floor_of_site(session: AsyncSession, site: Site, floor_id: uuid.UUID | None) -> Floor | None:
    floors = await site_floors(session, site.id)
    if floor_id is None:
        return floors[0] if floors else None
    floor = next((f for f in floors if f.id == floor_id), None)
    if floor is None:
        raise NotFound("floor not found")
    return floor
