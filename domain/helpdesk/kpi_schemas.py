"""The help desk's KPIs as the API, the admin page and /metrics read them (domain/helpdesk/kpis.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Bucket = Literal["day", "week"]


class TimeStats(BaseModel):
    """Seconds from a ticket's creation to an instant (first response, resolution), over the tickets that
    reached it within the period; None when none did."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class SlaFigure(BaseModel):
    """One SLA target over the tickets opened in the period that have it (`with_target`): `met` (answered or
    resolved by the due instant), `breached` (late, or not yet and past due), `pending` (not yet, not yet
    due, or paused while waiting on the client). `compliance` = met / (met + breached); None with neither."""

    with_target: int
    met: int
    breached: int
    pending: int
    compliance: float | None


class KpiGroup(BaseModel):
    """The figures of one category, one priority, or all tickets (`key` None)."""

    key: str | None
    opened: int = Field(description="tickets created in the period")
    resolved: int = Field(description="tickets resolved in the period")
    response_time: TimeStats = Field(description="created → first response, tickets first answered in the period")
    resolution_time: TimeStats = Field(description="created → resolved, tickets resolved in the period")
    sla_response: SlaFigure
    sla_resolution: SlaFigure


class ProblematicAsset(BaseModel):
    kind: Literal["device", "seat"]
    id: uuid.UUID
    label: str = Field(description="a device's serial and kind, a seat's label")
    site_id: uuid.UUID | None
    site_code: str | None
    floor_name: str | None
    tickets: int
    open_tickets: int
    last_ticket_at: datetime
    link: str = Field(description="the admin page to look at it: the device in the inventory, the seat on its map")


class ProblematicAssets(BaseModel):
    threshold: int = Field(description="listed: more than this many tickets in the window (SEATLEASE_HELPDESK_PROBLEM_TICKETS)")
    window_days: int
    since: datetime
    until: datetime
    items: list[ProblematicAsset]


class FloorIncidents(BaseModel):
    bucket: date
    site_code: str
    floor_id: uuid.UUID | None = Field(description="None: tickets about no seat")
    floor_name: str | None
    count: int


class ShiftIncidents(BaseModel):
    bucket: date
    shift: str | None = Field(description="the shift code of the lease on the seat at the time; None: no lease")
    count: int


class CategoryIncidents(BaseModel):
    bucket: date
    category: str
    count: int


class Incidents(BaseModel):
    """Tickets by when the fault began (`occurred_at`), bucketed by day or by week (Monday) of the site's
    own calendar."""

    bucket: Bucket
    by_floor: list[FloorIncidents]
    by_shift: list[ShiftIncidents]
    by_category: list[CategoryIncidents]


class HelpdeskKpis(BaseModel):
    from_date: date = Field(description="first day, on each site's calendar")
    to_date: date = Field(description="last day (included)")
    site_id: uuid.UUID | None
    generated_at: datetime
    totals: KpiGroup
    by_category: list[KpiGroup]
    by_priority: list[KpiGroup]
    problematic_assets: ProblematicAssets
    incidents: Incidents
