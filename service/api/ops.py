"""Devices, audit events, occupancy report, health."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from domain.schemas import TEXT_PATTERN, Page
from domain.services import audit, devices, reports
from domain.services.device_schemas import Device, DeviceCreate, DeviceStatus, DeviceUpdate
from domain.services.report_schemas import AuditEventOut, Occupancy, OccupancyRow
from provisioning import liveness
from service.api.deps import Cursor, Limit, QueryDate, QueryDateTime
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


@router.post("/v1/devices", status_code=201, response_model=Device)
async def create_device(body: DeviceCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    """Add a device to the inventory (kind, serial, site). Audited."""

    async def make() -> Device:
        return Device.model_validate(await devices.create_device(session, user, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get(
    "/v1/devices",
    response_model=Page[Device],
    summary="List devices (admin, facility staff)",
    description=(
        "The inventory, paged by id (`next_cursor`). Filters combine: `site_id`, `kind`, `status` "
        "(`in_stock`, `assigned`, `in_repair`, `retired`), `awaiting_return` (true: out with an ended lease "
        "and due back) and `serial` (any part of the serial, case-insensitive). **Roles:** admin, facility_staff."
    ),
)
async def list_devices(
    user: StaffUser,
    session: SessionDep,
    site_id: uuid.UUID | None = None,
    status: DeviceStatus | None = None,
    kind: Annotated[str | None, Query(max_length=32, pattern=TEXT_PATTERN)] = None,
    awaiting_return: bool | None = None,
    serial: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT_PATTERN)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Device]:
    rows, nxt = await devices.list_devices(
        session,
        site_id=site_id,
        status=status,
        kind=kind,
        awaiting_return=awaiting_return,
        serial=serial,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[Device.model_validate(r) for r in rows], next_cursor=nxt)


@router.patch(
    "/v1/devices/{device_id}",
    response_model=Device,
    summary="Update a device (admin, facility staff)",
    description=(
        "`returned: true` takes a device out with a lease (assigned, or due back after its lease ended) back in "
        "stock; 409 for one in stock, in repair or retired (nothing to return). `status` sets any state but "
        "`assigned` (only a lease assigns); `model` renames. Audited with before and after."
    ),
)
async def update_device(device_id: uuid.UUID, body: DeviceUpdate, user: StaffUser, session: SessionDep) -> Device:
    device = await devices.update_device(session, user, device_id, body)
    return Device.model_validate(device)


@router.get(
    "/v1/audit-events",
    response_model=Page[AuditEventOut],
    summary="Audit events, newest first (admin)",
    description=(
        "Every write of the system, one append-only row each: who (`actor`, `actor_id`), what (`action`, "
        "`object_type`, `object_id`) and the object's fields `before` and `after` (secrets are never recorded). "
        "Filters combine: `object_type` and `object_id` (one object's trail: a lease, a client, an invoice), "
        "`action` (exact, e.g. `lease.end`), `actor` (the label as recorded: a user's email, `system`) or "
        "`actor_id`, and a time range `since` (inclusive) to `until` (exclusive), both with an offset. "
        "Pages are newest first; `next_cursor` is the id to read below, stable while new events arrive. "
        "**Roles:** admin only. The log is the control over every role's own actions and spans money, "
        "users and keys beyond what facility staff or finance see elsewhere; they see an object's changes "
        "on its own page."
    ),
)
async def audit_events(
    user: AdminUser,
    session: SessionDep,
    object_type: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
    object_id: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN, examples=["lease.end"])] = None,
    actor: Annotated[str | None, Query(max_length=320, pattern=TEXT_PATTERN, description="the actor's label as recorded")] = None,
    actor_id: uuid.UUID | None = None,
    since: QueryDateTime | None = None,
    until: QueryDateTime | None = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="`next_cursor` of the previous page")] = None,
    limit: Limit = 100,
) -> Page[AuditEventOut]:
    rows, nxt = await audit.list_events(
        session,
        object_type=object_type,
        object_id=object_id,
        action=action,
        actor=actor,
        actor_id=actor_id,
        since=since,
        until=until,
        before_id=cursor,
        limit=limit,
    )
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/v1/reports/occupancy", response_model=Occupancy)
async def occupancy(
    user: StaffOrFinance,
    session: SessionDep,
    site_id: uuid.UUID | None = None,
    day: Annotated[QueryDate | None, Query(alias="date")] = None,
) -> Occupancy:
    """Seats leased over seats in service, by site, floor and shift, on a date (default today, UTC)."""
    day = day or datetime.now(UTC).date()
    return Occupancy(
        date=day,
        items=[OccupancyRow.model_validate(r, from_attributes=True) for r in await reports.occupancy(session, day, site_id)],
    )
