"""The audit log's and the reports' response schemas (domain/services/audit.py, reports.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from domain.schemas import Out


class AuditEventOut(Out):
    id: int
    at: Any
    actor_id: uuid.UUID | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class OccupancyRow(BaseModel):
    site_id: uuid.UUID
    site_code: str
    floor_id: uuid.UUID
    floor_name: str
    shift: str
    seats_total: int
    seats_leased: int
    occupancy_rate: float


class Occupancy(BaseModel):
    date: date
    items: list[OccupancyRow]
