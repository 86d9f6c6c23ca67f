"""The Reports page for finance (issue 12, "revenue in view"): MRR and its movement, revenue by site,
occupancy over time and RevPASS over a range of months, drawn as inline SVG charts beside their
tables and CSV downloads. Every figure is billing's report, as the API serves it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from billing import revenue, revenue_csv, revenue_dims
from billing.db import driver
from billing.facts import Month
from billing.revenue_schemas import MrrReport, OccupancyReport, ReportRange, RevenueBy, RevenueReport, RevpassReport, parse_range
from billing.statement_render import major
from domain.errors import NotFound, ValidationFailed
from domain.services import catalog
from service.admin.charts import Series, bar_chart, compact, line_chart
from service.admin.web import Finance, render
from service.db import SessionDep

router = APIRouter()
MonthParam = Annotated[str | None, Query(alias="from", max_length=7)]
ToParam = Annotated[str | None, Query(max_length=7)]
SiteParam = Annotated[uuid.UUID | None, Query()]
_MOVES = (
    ("New", "new_minor", 1, "#16a34a"),
    ("Expansion", "expansion_minor", 1, "#0891b2"),
    ("Contraction", "contraction_minor", -1, "#f59e0b"),
    ("Churn", "churn_minor", -1, "#dc2626"),
)


def _default_range() -> tuple[str, str]:
    """The twelve months up to this one."""
    last = Month.of(datetime.now(UTC).date())
    first = last
    for _ in range(11):
        first = first.prev()
    return str(first), str(last)


def _money_axis(currency: str) -> Any:
    return lambda v: compact(float(major(int(v), currency)))


def _mrr_view(rep: MrrReport, labels: list[str]) -> list[dict[str, Any]]:
    out = []
    for cur in rep.currencies:
        rows = [r for r in rep.items if r.currency == cur]
        axis = _money_axis(cur)
        out.append(
            {
                "currency": cur,
                "rows": rows,
                "mrr_chart": bar_chart(
                    labels,
                    [Series(f"MRR at month end ({cur})", [r.mrr_end_minor for r in rows], "#2563eb")],
                    axis,
                    f"MRR in {cur}",
                ),
                "move_chart": bar_chart(
                    labels,
                    [Series(name, [sign * getattr(r, key) for r in rows], color) for name, key, sign, color in _MOVES],
                    axis,
                    f"MRR movement in {cur}",
                ),
            }
        )
    return out


def _revenue_view(rep: RevenueReport, labels: list[str]) -> list[dict[str, Any]]:
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for r in rep.items:
        per[r.currency][r.site_code or "—"][r.month] += r.amount_minor
    out = []
    for cur, sites in sorted(per.items()):
        series = [Series(code, [by_month.get(m, 0) for m in labels]) for code, by_month in sorted(sites.items())]
        totals = {t.month: t.amount_minor for t in rep.totals if t.currency == cur}
        out.append(
            {
                "currency": cur,
                "series": series,
                "totals": [totals.get(m, 0) for m in labels],
                "chart": bar_chart(labels, series, _money_axis(cur), f"Revenue by site in {cur}"),
            }
        )
    return out


def _occupancy_view(rep: OccupancyReport, labels: list[str]) -> dict[str, Any]:
    sites: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rep.items:
        if r.floor_id is None:
            sites[r.site_code][r.month] = r.occupancy_rate * 100
    series = [Series(code, [v.get(m, 0.0) for m in labels]) for code, v in sorted(sites.items())]
    return {"chart": line_chart(labels, series, lambda v: f"{v:.0f}%", "Occupancy by site", y_max=100), "rows": rep.items}


def _revpass_view(rep: RevpassReport, labels: list[str]) -> list[dict[str, Any]]:
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for r in rep.items:
        if r.shift is None:
            per[r.currency][r.site_code][r.month] = r.revpass_minor
    out = []
    for cur, sites in sorted(per.items()):
        series = [Series(code, [v.get(m, 0) for m in labels]) for code, v in sorted(sites.items())]
        out.append({"currency": cur, "chart": line_chart(labels, series, _money_axis(cur), f"RevPASS in {cur}")})
    return out


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    user: Finance,
    session: SessionDep,
    from_: MonthParam = None,
    to: ToParam = None,
    site_id: SiteParam = None,
) -> HTMLResponse:
    first, last = _default_range()
    v = {"from": from_ or first, "to": to or last, "site_id": str(site_id) if site_id else ""}
    ctx: dict[str, Any] = {"v": v, "errors": {}, "sites": await catalog.all_sites(session)}
    try:
        rng = parse_range(v["from"], v["to"])
    except ValidationFailed as exc:
        ctx["errors"] = {exc.field: exc.detail}
        return render(request, "reports.html", ctx, status_code=422)
    conn = await driver(session)
    labels = [str(m) for m in rng.months]
    query = urlencode({k: val for k, val in v.items() if val})
    ctx.update(
        labels=labels,
        query=query,
        mrr=_mrr_view(await revenue.mrr_report(conn, rng, site_id), labels),
        revenue=_revenue_view(await revenue_dims.revenue_report(conn, rng, "site", site_id), labels),
        occupancy=_occupancy_view(await revenue_dims.occupancy_report(conn, rng, site_id), labels),
        revpass_charts=_revpass_view(revpass := await revenue_dims.revpass_report(conn, rng, site_id), labels),
        revpass=revpass.items,
    )
    return render(request, "reports.html", ctx)


async def _csv_of(conn: Any, name: str, rng: ReportRange, site_id: uuid.UUID | None, by: RevenueBy) -> tuple[str, str]:
    if name == "mrr":
        return revenue_csv.mrr_csv(await revenue.mrr_report(conn, rng, site_id)), "mrr"
    if name == "revenue":
        return revenue_csv.revenue_csv(await revenue_dims.revenue_report(conn, rng, by, site_id)), f"revenue-by-{by}"
    if name == "occupancy":
        return revenue_csv.occupancy_csv(await revenue_dims.occupancy_report(conn, rng, site_id)), "occupancy"
    if name == "revpass":
        return revenue_csv.revpass_csv(await revenue_dims.revpass_report(conn, rng, site_id)), "revpass"
    raise NotFound("no such report")


@router.get("/reports/{name}.csv", response_model=None)
async def report_csv(
    name: str,
    user: Finance,
    session: SessionDep,
    from_: MonthParam = None,
    to: ToParam = None,
    site_id: SiteParam = None,
    by: RevenueBy = "site",
) -> Response:
    """The same CSV as the API's `Accept: text/csv`."""
    rng = parse_range(from_, to)
    text, stem = await _csv_of(await driver(session), name, rng, site_id, by)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{revenue_csv.filename(stem, rng)}"'},
    )
