"""The client's seats on a floor (issue 14): every seat it holds on a site's floor on a day, for one
shift or the whole day, each with its agent; another tenant's seats only "taken" (``tenant_view``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from domain.errors import NotFound
from domain.leasing import client_views
from domain.leasing.floor_map import load_floor_map, site_floors, site_shifts, tenant_view
from domain.services import catalog
from service.admin.seatmap import parse_day, render_svg, resolve_shift
from service.db import SessionDep
from service.portal.web import Client, render, tenant

router = APIRouter()  # included in the portal's router, under /portal


@router.get("/seats", response_class=HTMLResponse)
async def seats_page(
    request: Request,
    user: Client,
    session: SessionDep,
    site: Annotated[str | None, Query(alias="site_id", max_length=40)] = None,
    floor: Annotated[str | None, Query(alias="floor_id", max_length=40)] = None,
    shift: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    site_id, floor_id = _choice(site, "site"), _choice(floor, "floor")
    rows = await client_views.client_lease_rows(session, tenant(user))
    site_ids = client_views.client_site_ids(rows)
    if site_id is not None and site_id not in site_ids:
        raise NotFound("you lease no seats on this site")
    if not site_ids:
        return render(request, "portal/seats.html", {"site": None})
    the_site = await catalog.get_site(session, site_id or site_ids[0])
    sites = [await catalog.get_site(session, x) for x in site_ids]
    floors = await site_floors(session, the_site.id)
    if floor_id is not None and floor_id not in {f.id for f in floors}:
        raise NotFound("floor not found")
    the_day = parse_day(day, catalog.site_today(the_site))
    chosen = await resolve_shift(session, the_site, shift)
    maps = []
    seating = await client_views.client_seating(session, tenant(user))
    for f in floors if floor_id is None else [f for f in floors if f.id == floor_id]:
        fm = tenant_view(await load_floor_map(session, the_site, f, the_day, chosen), tenant(user))
        counts = fm.counts()
        if floor_id is None and not counts.get("mine"):
            continue  # the floors where the client holds seats that day
        svg = render_svg(fm, titles=lambda s: client_views.floor_seat_title(s, seating))
        maps.append({"floor": f, "svg": svg, "mine": counts.get("mine", 0)})
    return render(
        request,
        "portal/seats.html",
        {
            "site": the_site,
            "sites": sites,
            "floors": floors,
            "floor_id": floor_id,
            "shifts": await site_shifts(session, the_site.id),
            "shift": chosen.code if chosen else "",
            "day": the_day,
            "maps": maps,
        },
    )


def _choice(value: str | None, what: str) -> uuid.UUID | None:
    """A picker's id: empty is "none chosen"; anything else that is not an id names nothing."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(f"{what} not found") from exc
