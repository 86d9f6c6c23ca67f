"""Revenue reports (issue 12, "revenue in view"): MRR and its movement, revenue by site, floor, shift
and client, occupancy over time, revenue per available seat-shift. JSON in minor units, or CSV in
major units with the currency column (`Accept: text/csv`). Finance and admin only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from billing import revenue, revenue_csv, revenue_dims
from billing.db import driver
from billing.revenue_schemas import (
    MAX_MONTHS,
    MrrReport,
    OccupancyReport,
    ReportRange,
    RevenueBy,
    RevenueReport,
    RevpassReport,
    parse_range,
)
from domain.schemas import PERIOD_PATTERN
from service.api.deps import CSV_CONTENT
from service.auth import FinanceUser
from service.db import SessionDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])
R = TypeVar("R")

From = Annotated[str, Query(alias="from", pattern=PERIOD_PATTERN, description="first month, YYYY-MM", examples=["2031-01"])]
To = Annotated[str, Query(pattern=PERIOD_PATTERN, description=f"last month, YYYY-MM (at most {MAX_MONTHS} months)")]
SiteId = Annotated[uuid.UUID | None, Query(description="only this site")]
ClientId = Annotated[uuid.UUID | None, Query(description="only this client")]
Accept = Annotated[str | None, Header()]

_COMMON = f"""Roles: admin, finance (facility staff and clients: **403**). `from` and `to` are months
(`YYYY-MM`, both included, at most {MAX_MONTHS}); `to` before `from` or a longer range is a **422** naming
`to`. Money in integer minor units with its currency; no figure adds two currencies. `Accept: text/csv`
gives the same rows as CSV, amounts in major units with a currency column."""
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": CSV_CONTENT, "description": "the report (JSON, or CSV with `Accept: text/csv`)"}
}


def _answer(accept: str | None, rep: R, to_csv: Callable[[R], str], name: str, rng: ReportRange) -> R | Response:
    """The report as JSON, or as a CSV download when the caller asked for `text/csv`."""
    if "text/csv" not in (accept or "").lower():
        return rep
    return Response(
        to_csv(rep),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{revenue_csv.filename(name, rng)}"'},
    )


@router.get(
    "/mrr",
    response_model=MrrReport,
    responses=_CSV,
    summary="Monthly recurring revenue and its movement",
    description=f"""{_COMMON}

Per month and currency: MRR at the previous month's end and at this month's end (what the leases in
force on that day bill for a whole month: seats held × the seat price in force, escalation and dated
prices included, + monthly add-ons, − discount), and its movement client by client: **new** (from
nothing), **expansion** (up), **contraction** (down), **churn** (to nothing);
`mrr_end = mrr_start + new + expansion − contraction − churn`.""",
)
async def mrr(
    user: FinanceUser,
    session: SessionDep,
    from_: From,
    to: To,
    site_id: SiteId = None,
    client_id: ClientId = None,
    accept: Accept = None,
) -> Any:
    rng = parse_range(from_, to)
    rep = await revenue.mrr_report(await driver(session), rng, site_id, client_id)
    return _answer(accept, rep, revenue_csv.mrr_csv, "mrr", rng)


@router.get(
    "/revenue",
    response_model=RevenueReport,
    responses=_CSV,
    summary="Revenue by site, floor, shift or client per month",
    description=f"""{_COMMON}

Revenue recognised from issued invoices (never drafts or void ones) by each line's service month,
before tax, broken down `by` site, floor, shift or client, with `totals` per month and currency.
Deposits are not revenue; a manual credit note is subtracted from its invoice's client, site and
period (floor and shift null); a lease's line is spread over its seats' floors by seat-days.""",
)
async def revenue_by(
    user: FinanceUser,
    session: SessionDep,
    from_: From,
    to: To,
    by: RevenueBy = "site",
    site_id: SiteId = None,
    client_id: ClientId = None,
    accept: Accept = None,
) -> Any:
    rng = parse_range(from_, to)
    rep = await revenue_dims.revenue_report(await driver(session), rng, by, site_id, client_id)
    return _answer(accept, rep, revenue_csv.revenue_csv, f"revenue-by-{by}", rng)


@router.get(
    "/occupancy/monthly",
    response_model=OccupancyReport,
    responses=_CSV,
    summary="Occupancy over time, per site and floor",
    description=f"""{_COMMON}

Per month, site (floor null) and floor: seat-shifts leased over seat-shifts available, day by day.
A seat offers each of the site's named shifts every day (DAY, MID, NIGHT; a site with only FULL offers
one); a lease sells one per seat and day, a FULL lease all of them. Available: active seats × named
shifts × days of the month.""",
)
async def occupancy_monthly(
    user: FinanceUser, session: SessionDep, from_: From, to: To, site_id: SiteId = None, accept: Accept = None
) -> Any:
    rng = parse_range(from_, to)
    rep = await revenue_dims.occupancy_report(await driver(session), rng, site_id)
    return _answer(accept, rep, revenue_csv.occupancy_csv, "occupancy", rng)


@router.get(
    "/revpass",
    response_model=RevpassReport,
    responses=_CSV,
    summary="Revenue per available seat-shift (RevPASS)",
    description=f"""{_COMMON}

Per month and site (shift null): the site's revenue (as `/v1/reports/revenue`) over its available
seat-shifts (active seats × named shifts × days); per named shift: the revenue of that shift's leases
plus an even share of the FULL leases' over active seats × days. In minor units of the site's
currency, rounded half up (`revenue_minor` and `available_seat_shifts` give the exact ratio).""",
)
async def revpass(
    user: FinanceUser, session: SessionDep, from_: From, to: To, site_id: SiteId = None, accept: Accept = None
) -> Any:
    rng = parse_range(from_, to)
    rep = await revenue_dims.revpass_report(await driver(session), rng, site_id)
    return _answer(accept, rep, revenue_csv.revpass_csv, "revpass", rng)
