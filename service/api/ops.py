"""Devices, audit events, occupancy report, health."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select

from domain.errors import ValidationFailed
from domain.models import Device, Site
from domain.services import audit, reports
from domain.services.audit import record, snapshot
from domain.services.lookup import get_or_404
from provisioning import liveness
from service.api import schemas as s
from service.api.deps import Cursor, Limit, QueryDate, QueryDateTime, paginate
from service.auth import AdminUser, StaffOrFinance, StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    """The service and its workers, answered within `SEATLEASE_HEALTHZ_TIMEOUT` seconds.

    * 200 `{"status": "ok", "database": "ok", "workers": [...]}`: the database answers and every
      worker that reports completed a pass recently (`SEATLEASE_WORKER_STALE_SECONDS`). With no
      worker at all (the API running alone) it is ok and `workers_note` says so.
    * 200 `{"status": "degraded", "stale_workers": [...], "sites_failing": [...]}`: the API serves,
      but a worker's passes are stale (access may outlive leases until it recovers) or a pass had to
      skip a site. 200 because this process works and must stay in the load balancer; alert on it.
    * 503 `{"status": "down", "database": "unreachable" | "pool exhausted"}` with Retry-After: the
      database does not answer in time. Never a 500, never a hang.
    """
    settings = request.app.state.settings
    engine = request.app.state.engine
    headers = {"Cache-Control": "no-store"}
    try:
        async with asyncio.timeout(settings.healthz_timeout_seconds), engine.connect() as conn:
            rows = await liveness.workers(conn)
    except Exception as exc:  # includes the timeout: whatever it is, the database did not answer
        pool = engine.pool
        limit = pool.size() + max(0, getattr(pool, "_max_overflow", 0)) if hasattr(pool, "size") else None
        exhausted = limit is not None and hasattr(pool, "checkedout") and pool.checkedout() >= limit
        return JSONResponse(
            {"status": "down", "database": "pool exhausted" if exhausted else "unreachable", "error": type(exc).__name__},
            status_code=503,
            headers={**headers, "Retry-After": "5"},
        )
    body = {"database": "ok", **liveness.health(rows, settings.worker_stale_seconds)}
    return JSONResponse(jsonable_encoder(body), headers=headers)


@router.post("/v1/devices", status_code=201, response_model=s.Device)
async def create_device(body: s.DeviceCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    if await session.get(Site, body.site_id) is None:
        raise ValidationFailed("no such site", field="site_id")
    if body.status == "assigned":
        raise ValidationFailed("a device is assigned by a lease, not created assigned", field="status")

    async def make() -> s.Device:
        if await session.scalar(select(Device.id).where(Device.serial == body.serial)):
            raise ValidationFailed("a device with this serial exists", field="serial")
        device = Device(**body.model_dump())
        session.add(device)
        await session.flush()
        await record(session, user, "device.create", "device", device.id, after=snapshot(device))
        return s.Device.model_validate(device)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/v1/devices", response_model=s.Page[s.Device])
async def list_devices(
    user: StaffUser,
    session: SessionDep,
    site_id: uuid.UUID | None = None,
    status: s.DeviceStatus | None = None,
    kind: Annotated[str | None, Query(max_length=32, pattern=s.TEXT_PATTERN)] = None,
    awaiting_return: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> s.Page[s.Device]:
    stmt = select(Device)
    if site_id:
        stmt = stmt.where(Device.site_id == site_id)
    if status:
        stmt = stmt.where(Device.status == status)
    if kind:
        stmt = stmt.where(Device.kind == kind)
    if awaiting_return is not None:
        stmt = stmt.where(Device.return_due_at.is_not(None) if awaiting_return else Device.return_due_at.is_(None))
    rows, nxt = await paginate(session, stmt, Device.id, cursor, limit)
    return s.Page(items=[s.Device.model_validate(r) for r in rows], next_cursor=nxt)


@router.patch("/v1/devices/{device_id}", response_model=s.Device)
async def update_device(device_id: uuid.UUID, body: s.DeviceUpdate, user: StaffUser, session: SessionDep) -> s.Device:
    device = await get_or_404(session, Device, device_id, "device")
    before = snapshot(device)
    if body.returned:
        device.status, device.seat_id, device.lease_id, device.return_due_at = "in_stock", None, None, None
    if body.status is not None:
        if body.status == "assigned" and device.status != "assigned":
            raise ValidationFailed("a device is assigned by a lease", field="status")
        if body.status != "assigned":
            device.seat_id, device.lease_id, device.return_due_at = None, None, None
        device.status = body.status
    if body.model is not None:
        device.model = body.model
    await session.flush()
    await record(session, user, "device.update", "device", device.id, before=before, after=snapshot(device))
    return s.Device.model_validate(device)


@router.get("/v1/audit-events", response_model=s.Page[s.AuditEventOut])
async def audit_events(
    user: AdminUser,
    session: SessionDep,
    object_type: Annotated[str | None, Query(max_length=64, pattern=s.TEXT_PATTERN)] = None,
    object_id: Annotated[str | None, Query(max_length=64, pattern=s.TEXT_PATTERN)] = None,
    actor_id: uuid.UUID | None = None,
    since: QueryDateTime | None = None,
    until: QueryDateTime | None = None,
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
) -> s.Page[s.AuditEventOut]:
    rows, nxt = await audit.list_events(
        session,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        since=since,
        until=until,
        before_id=cursor,
        limit=limit,
    )
    return s.Page(items=[s.AuditEventOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/v1/reports/occupancy", response_model=s.Occupancy)
async def occupancy(
    user: StaffOrFinance,
    session: SessionDep,
    site_id: uuid.UUID | None = None,
    day: Annotated[QueryDate | None, Query(alias="date")] = None,
) -> s.Occupancy:
    """Seats leased over seats in service, by site, floor and shift, on a date (default today, UTC)."""
    day = day or datetime.now(UTC).date()
    return s.Occupancy(
        date=day,
        items=[s.OccupancyRow.model_validate(r, from_attributes=True) for r in await reports.occupancy(session, day, site_id)],
    )
