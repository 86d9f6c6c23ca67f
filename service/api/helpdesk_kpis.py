"""The help desk's KPIs (issue 15): GET /v1/helpdesk/kpis, and its figures on /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, Metric
from sqlalchemy.ext.asyncio import AsyncSession

from domain.helpdesk import kpis
from domain.helpdesk.kpi_schemas import Bucket, HelpdeskKpis
from domain.models.ticket import TicketCategory, TicketPriority
from domain.services import catalog
from service.api.deps import QueryDate
from service.auth import StaffOrFinance
from service.db import SessionDep

router = APIRouter(tags=["help desk"])


@router.get(
    "/v1/helpdesk/kpis",
    response_model=HelpdeskKpis,
    summary="Help desk KPIs",
    description=f"""The help desk's figures over a period of calendar days, each site's own (`from` and `to`,
`YYYY-MM-DD`, both included; default the 30 days up to today, UTC; at most {kpis.MAX_DAYS} days), on one site
(`site_id`) or all:

* **opened** (created in the period) and **resolved** (resolved in the period), overall (`totals`), per
  category (`by_category`) and per priority (`by_priority`), every category and priority listed;
* **response time** (created → first answer the client saw, over tickets first answered in the period) and
  **resolution time** (created → resolved, over tickets resolved in the period): p50 and p90 in seconds;
* **SLA compliance** of the tickets opened in the period that have targets: `met`, `breached` (late, or not
  yet and past due), `pending` (not yet due, or paused while waiting on the client) and `compliance` =
  met / (met + breached);
* **problematic assets**: devices and seats with more than `SEATLEASE_HELPDESK_PROBLEM_TICKETS` (default 3)
  tickets in the 90 days up to the period's end (or now), with their counts and the admin page to see them;
* **incidents** by floor, by shift (the shift of the lease holding the ticket's seat when the fault began,
  else the ticket's lease) and by category, per day or per week (`bucket`, `day` or `week`; default daily
  up to {kpis.DAILY_UP_TO} days, weekly beyond) of the site's calendar, by when the fault began.

A bad date, `to` before `from` or too long a period is a **422** problem naming the field; an unknown site
a **404**.""",
)
async def helpdesk_kpis(
    request: Request,
    user: StaffOrFinance,
    session: SessionDep,
    from_: Annotated[QueryDate | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to: Annotated[QueryDate | None, Query(description="last day (included), YYYY-MM-DD")] = None,
    site_id: Annotated[uuid.UUID | None, Query(description="only this site")] = None,
    bucket: Annotated[Bucket | None, Query(description="day or week (default: by the period's length)")] = None,
) -> HelpdeskKpis:
    first, last = (d.isoformat() if d else None for d in (from_, to))
    period = kpis.parse_period(first, last, bucket, datetime.now(UTC).date())
    site = await catalog.get_site(session, site_id) if site_id is not None else None
    return await kpis.read_kpis(session, period, site, request.app.state.settings.helpdesk_problem_tickets)


# --- /metrics: service/api/provisioning.py's `metrics` calls `update_metrics` and serves `registry` too ---
registry = CollectorRegistry()
_open = Gauge("seatlease_tickets_open", "Tickets not yet resolved", ["category", "priority"], registry=registry)
_resolution = Gauge(
    "seatlease_ticket_resolution_seconds",
    "Created to resolved, over the tickets resolved in the last 30 days",
    ["quantile"],
    registry=registry,
)
_compliance = Gauge(
    "seatlease_ticket_sla_compliance_ratio",
    "Tickets opened in the last 30 days that met their SLA target, of those decided (met or breached)",
    ["target"],
    registry=registry,
)


class _Totals:
    """Tickets opened and resolved ever, per category, as counters: the database's counts, so every API
    replica reports the same totals and rate() works across restarts."""

    def __init__(self) -> None:
        self.by_category: dict[str, tuple[int, int]] = {}

    def collect(self) -> Iterator[Metric]:
        opened = CounterMetricFamily("seatlease_tickets_opened", "Tickets opened", labels=["category"])
        resolved = CounterMetricFamily("seatlease_tickets_resolved", "Tickets resolved", labels=["category"])
        for c in TicketCategory:
            o, r = self.by_category.get(c.value, (0, 0))
            opened.add_metric([c.value], float(o))
            resolved.add_metric([c.value], float(r))
        yield opened
        yield resolved


_totals = _Totals()
registry.register(_totals)  # type: ignore[arg-type]


async def update_metrics(session: AsyncSession) -> None:
    """Read the figures /metrics shows into this module's registry."""
    open_now = await kpis.open_by_category_priority(session)
    for c in TicketCategory:
        for p in TicketPriority:
            _open.labels(category=c.value, priority=p.value).set(open_now.get((c.value, p.value), 0))
    _totals.by_category = await kpis.totals_by_category(session)
    now = datetime.now(UTC)
    today = now.date()
    k = await kpis.read_summary(session, kpis.parse_period(None, today.isoformat(), "day", today), None, now)
    _resolution.labels(quantile="0.5").set(k.resolution_time.p50_seconds or 0.0)
    _resolution.labels(quantile="0.9").set(k.resolution_time.p90_seconds or 0.0)
    for target, figure in (("response", k.sla_response), ("resolution", k.sla_resolution)):
        _compliance.labels(target=target).set(figure.compliance if figure.compliance is not None else float("nan"))
