"""The help desk's KPIs in the admin (issue 15): a card on the dashboard and the page /admin/helpdesk/kpis
(charts, problematic assets, incidents by floor, shift and category), filtered by site and period. Every
figure is domain/helpdesk/kpis.py's, as the API serves it."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.helpdesk import kpis
from domain.helpdesk.kpi_schemas import HelpdeskKpis, Incidents
from domain.models.ticket import CATEGORY_LABELS, TicketCategory
from domain.services import catalog
from service.admin.charts import Series, bar_chart, compact
from service.admin.web import Staff, duration, render
from service.db import SessionDep

router = APIRouter()
logger = logging.getLogger("seatlease.admin")
DateParam = Annotated[str | None, Query(max_length=10)]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


async def dashboard_card(session: AsyncSession) -> dict[str, Any]:
    """The last 30 days on every site and what is open now; a failure here never breaks the dashboard."""
    try:
        async with session.begin_nested():
            now = datetime.now(UTC)
            today = now.date()
            period = kpis.parse_period(None, today.isoformat(), "day", today)
            totals = await kpis.read_summary(session, period, None, now)
            open_now = sum((await kpis.open_by_category_priority(session)).values())
    except Exception:
        logger.warning("admin: help desk KPIs failed", exc_info=True)
        return {"error": "help desk figures are unavailable right now"}
    return {"totals": totals, "open": open_now, "duration": duration, "percent": percent}


def _buckets(inc: Incidents) -> list[date]:
    return sorted({r.bucket for r in inc.by_category} | {r.bucket for r in inc.by_floor} | {r.bucket for r in inc.by_shift})


def _charts(k: HelpdeskKpis) -> dict[str, Any]:
    inc = k.incidents
    buckets = _buckets(inc)
    labels = [b.strftime("%d %b") for b in buckets]
    at = {b: i for i, b in enumerate(buckets)}
    per_cat: dict[str, list[float]] = {c.value: [0.0] * len(buckets) for c in TicketCategory}
    for r in inc.by_category:
        per_cat[r.category][at[r.bucket]] += r.count
    floors: dict[str, int] = defaultdict(int)
    for f in inc.by_floor:
        floors[f"{f.site_code} {f.floor_name}" if f.floor_name else f"{f.site_code} (no seat)"] += f.count
    shifts: dict[str, int] = defaultdict(int)
    for s in inc.by_shift:
        shifts[s.shift or "no lease"] += s.count
    res = k.by_category

    def hours(v: float) -> str:
        return f"{compact(v)}h"

    return {
        "over_time": bar_chart(
            labels,
            [Series(CATEGORY_LABELS[c], v) for c, v in per_cat.items()],
            compact,
            f"Incidents by category per {inc.bucket}",
        )
        if buckets
        else None,
        "resolution": bar_chart(
            [CATEGORY_LABELS[g.key or ""] for g in res],
            [Series("Resolution p50 (hours)", [(g.resolution_time.p50_seconds or 0) / 3600 for g in res], "#2563eb")],
            hours,
            "Resolution time p50 by category",
        ),
        "floors": sorted(floors.items(), key=lambda kv: (-kv[1], kv[0])),
        "floor_chart": bar_chart(list(floors), [Series("Incidents", list(floors.values()), "#0891b2")], compact, "By floor")
        if floors
        else None,
        "shifts": sorted(shifts.items(), key=lambda kv: (-kv[1], kv[0])),
        "shift_chart": bar_chart(list(shifts), [Series("Incidents", list(shifts.values()), "#7c3aed")], compact, "By shift")
        if shifts
        else None,
    }


@router.get("/helpdesk/kpis", response_class=HTMLResponse)
async def kpis_page(
    request: Request,
    user: Staff,
    session: SessionDep,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: DateParam = None,
    site_id: Annotated[str | None, Query(max_length=36)] = None,
    bucket: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    today = datetime.now(UTC).date()
    v = {"from": from_ or "", "to": to or "", "site_id": site_id or "", "bucket": bucket or ""}
    ctx: dict[str, Any] = {"v": v, "errors": {}, "sites": await catalog.all_sites(session), "labels": CATEGORY_LABELS}
    try:
        period = kpis.parse_period(from_, to, bucket, today)
        site = None
        if site_id:
            try:
                site = await catalog.get_site(session, uuid.UUID(site_id))
            except ValueError:
                raise ValidationFailed("no such site", field="site_id") from None
    except ValidationFailed as exc:
        ctx["errors"] = {exc.field: exc.detail}
        return render(request, "helpdesk_kpis.html", ctx, status_code=422)
    v.update({"from": period.first.isoformat(), "to": period.last.isoformat(), "bucket": period.bucket})
    k = await kpis.read_kpis(session, period, site, request.app.state.settings.helpdesk_problem_tickets)
    ctx.update(k=k, charts=_charts(k), duration=duration, percent=percent)
    return render(request, "helpdesk_kpis.html", ctx)
