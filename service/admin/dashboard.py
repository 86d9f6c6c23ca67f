"""The dashboard: what the floor and the month look like right now."""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import availability
from domain.models import Site
from domain.models.user import Role
from domain.services import catalog, devices, reports
from provisioning import kpis as provisioning_kpis
from service.admin import helpdesk_kpis  # --- help desk KPIs (issue 15) ---
from service.admin.web import Staff, render
from service.db import SessionDep

router = APIRouter()
logger = logging.getLogger("seatlease.admin")


def next_month(day: date) -> tuple[date, date]:
    first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


async def free_seats_table(session: AsyncSession, sites: list[Site]) -> list[dict[str, Any]]:
    out = []
    for site in sites:
        today = catalog.site_today(site)
        nm_start, nm_end = next_month(today)
        for shift in await catalog.list_shifts(session, site.id):
            window = catalog.shift_window(shift)
            out.append(
                {
                    "site": site,
                    "shift": shift.code,
                    "now": await availability.count_free_seats(session, site.id, window, today, today),
                    "next_month": await availability.count_free_seats(session, site.id, window, nm_start, nm_end),
                }
            )
    return out


async def provisioning_panel(session: AsyncSession) -> dict[str, Any] | None:
    """The provisioning KPIs; a failure here never breaks the page."""
    try:
        async with session.begin_nested():
            result = await provisioning_kpis.kpis(session)
    except Exception:
        logger.warning("admin: provisioning KPIs failed", exc_info=True)
        return {"error": "provisioning figures are unavailable right now"}
    data = result if isinstance(result, dict) else getattr(result, "__dict__", {"value": result})
    return {"figures": data}


async def finance_panel(session: AsyncSession, today: date) -> dict[str, Any] | None:
    from service.admin import finance

    return await finance.dashboard_figures(session, today)


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, user: Staff, session: SessionDep) -> HTMLResponse:
    today = datetime.now(UTC).date()
    sites = await catalog.all_sites(session)
    occupancy = await reports.occupancy_by_site_shift(session, today)
    by_site: dict[str, list[reports.ShiftOccupancy]] = defaultdict(list)
    for row in occupancy:
        by_site[row.site_code].append(row)
    devices_out = await devices.out_for_return(session, limit=10)
    devices_out_count = await devices.count_out_for_return(session)
    ctx = {
        "today": today,
        "sites": sites,
        "occupancy": occupancy,
        "occupancy_by_site": dict(by_site),
        "free": await free_seats_table(session, sites),
        "starting": await reports.leases_starting(session, today),
        "ending": await reports.leases_ending(session, today),
        "pending": await reports.leases_pending_approval(session),
        "proposals": await reports.open_proposals(session),
        "devices_out": devices_out,
        "devices_out_count": devices_out_count,
        "provisioning": await provisioning_panel(session),
        "finance": await finance_panel(session, today) if user.role in (Role.ADMIN, Role.FINANCE) else None,
        "flash": request.query_params.get("flash"),
        "helpdesk": await helpdesk_kpis.dashboard_card(session),  # --- help desk KPIs (issue 15) ---
    }
    return render(request, "dashboard.html", ctx)
