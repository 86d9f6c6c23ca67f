"""The dashboard: what the floor and the month look like right now."""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import availability
from domain.models import Client, Lease, LeaseSeat, Site
from domain.services import catalog, devices, reports
from service.admin import integrations
from service.admin.seatmap import site_shifts
from service.admin.web import Staff, render
from service.db import SessionDep

router = APIRouter()
logger = logging.getLogger("seatlease.admin")


def next_month(day: date) -> tuple[date, date]:
    first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


async def occupancy_by_site_shift(session: AsyncSession, day: date) -> list[dict[str, Any]]:
    """reports.occupancy is per floor; the dashboard reads it per site and shift."""
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for r in await reports.occupancy(session, day):
        key = (r["site_code"], r["shift"])
        row = acc.setdefault(
            key, {"site_code": r["site_code"], "site_id": r["site_id"], "shift": r["shift"], "seats_total": 0, "seats_leased": 0}
        )
        row["seats_total"] += r["seats_total"]
        row["seats_leased"] += r["seats_leased"]
    out = list(acc.values())
    for row in out:
        row["rate"] = row["seats_leased"] / row["seats_total"] if row["seats_total"] else 0.0
    return out


async def free_seats_table(session: AsyncSession, sites: list[Site]) -> list[dict[str, Any]]:
    out = []
    for site in sites:
        today = catalog.site_today(site)
        nm_start, nm_end = next_month(today)
        for shift in await site_shifts(session, site.id):
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


async def lease_rows(session: AsyncSession, *conds: Any, order: Any, limit: int = 12) -> list[Any]:
    seats = (
        select(func.count(func.distinct(LeaseSeat.seat_id)))
        .where(LeaseSeat.lease_id == Lease.id, LeaseSeat.voided.is_(False))
        .scalar_subquery()
    )
    return list(
        (
            await session.execute(
                select(Lease, Client.legal_name, Site.code, seats.label("seats"))
                .join(Client, Client.id == Lease.client_id)
                .join(Site, Site.id == Lease.site_id)
                .where(*conds)
                .order_by(order)
                .limit(limit)
            )
        ).all()
    )


async def provisioning_panel(session: AsyncSession) -> dict[str, Any] | None:
    """KPIs of the provisioning part, when it is installed; a failure here never breaks the page."""
    mod = integrations.provisioning_kpis_module()
    if mod is None or not hasattr(mod, "kpis"):
        return None
    try:
        async with session.begin_nested():
            result = await mod.kpis(session)
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
    horizon = today + timedelta(days=30)
    sites = list((await session.scalars(select(Site).order_by(Site.code))).all())
    occupancy = await occupancy_by_site_shift(session, today)
    by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in occupancy:
        by_site[row["site_code"]].append(row)
    devices_out = await devices.out_for_return(session, limit=10)
    devices_out_count = await devices.count_out_for_return(session)
    ctx = {
        "today": today,
        "sites": sites,
        "occupancy": occupancy,
        "occupancy_by_site": dict(by_site),
        "free": await free_seats_table(session, sites),
        "starting": await lease_rows(
            session,
            Lease.status.in_(("pending_approval", "confirmed")),
            Lease.start_date >= today,
            Lease.start_date <= horizon,
            order=Lease.start_date,
        ),
        "ending": await lease_rows(
            session,
            Lease.status.in_(("confirmed", "active")),
            Lease.end_date.is_not(None),
            Lease.end_date >= today,
            Lease.end_date <= horizon,
            order=Lease.end_date,
        ),
        "pending": await lease_rows(session, Lease.status == "pending_approval", order=Lease.created_at),
        "devices_out": devices_out,
        "devices_out_count": devices_out_count or 0,
        "provisioning": await provisioning_panel(session),
        "finance": await finance_panel(session, today) if user.role in ("admin", "finance") else None,
        "flash": request.query_params.get("flash"),
    }
    return render(request, "dashboard.html", ctx)
