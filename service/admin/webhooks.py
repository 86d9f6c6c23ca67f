"""The webhooks page (issue 14): the facility's own endpoints (every client's events) made here, every
client's endpoints listed with their state, and each endpoint's delivery log with redeliver, pause and
resume, secret rotation and delete. Admins only. A secret is shown once, in the answer to the POST
that made it. The same use-cases as the API (domain/webhooks/endpoints.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services import people
from domain.webhooks import endpoints as hooks
from domain.webhooks.catalog import EVENT_TYPES
from domain.webhooks.schemas import EndpointCreate
from service.admin.confirm import confirm_page, is_confirmed
from service.admin.web import AdminOnly, CsrfForm, attempt, redirect, render, validate_form
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


def _once(title: str, secret: str, note: str) -> dict[str, str]:
    return {"title": title, "label": "Signing secret", "value": secret, "key": "", "note": note}


async def _list(
    request: Request,
    session: AsyncSession,
    *,
    once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = await hooks.list_endpoints(session, tenant=None, staff=True, client_id=None, facility=None)
    return render(
        request,
        "webhooks.html",
        {
            "facility": [r for r in rows if r.client_id is None],
            "clients_rows": [r for r in rows if r.client_id is not None],
            "clients": await people.client_names(session),
            "types": hooks.event_types(),
            "base": "/admin",
            "form_title": "New facility endpoint",
            "once": once,
            "errors": errors or {},
            "v": values or {"event_types": list(EVENT_TYPES)},
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
        headers=NO_STORE if once else None,
    )


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, user: AdminOnly, session: SessionDep) -> HTMLResponse:
    return await _list(request, session)


@router.post("/webhooks", response_model=None)
async def create_facility_endpoint(request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    types = [str(t) for t in (await request.form()).getlist("event_types")]
    values = {
        "url": str(form.get("url", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "event_types": types,
    }
    body, errors = validate_form(EndpointCreate, {**values, "facility": True})
    if body is not None:
        config = request.app.state.settings.webhooks()

        async def make() -> Any:
            return await hooks.create_endpoint(
                session,
                user,
                client_id=None,
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                rules=config.rules,
                secret_key=config.secret_key,
            )

        made, error = await attempt(session, make)
        if error is None:
            row, secret = made
            note = "Shown once: the server keeps it sealed and signs with it. README “Webhooks” shows how a receiver verifies."
            return await _list(request, session, once=_once(f"Endpoint {row.url} created", secret, note))
        errors = {error.field or "__all__": error.detail}
    return await _list(request, session, errors=errors, values=values, status_code=422)


async def _detail(
    request: Request, session: AsyncSession, user: Principal, endpoint_id: uuid.UUID, *, once: dict[str, str] | None = None
) -> HTMLResponse:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=None, staff=True)
    q = request.query_params
    status = q.get("status") if q.get("status") in ("pending", "held", "delivered") else None
    cursor = q.get("cursor") if (q.get("cursor") or "").isdigit() else None
    items, nxt = await hooks.list_deliveries(session, row, status=status, before_seq=int(cursor) if cursor else None, limit=50)
    return render(
        request,
        "webhook_detail.html",
        {
            "ep": row,
            "base": "/admin",
            "deliveries": items,
            "next_cursor": nxt,
            "status": status or "",
            "client_name": (await people.client_names(session)).get(row.client_id) if row.client_id else None,
            "once": once,
            "flash": q.get("flash"),
        },
        headers=NO_STORE if once else None,
    )


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(
    endpoint_id: uuid.UUID,
    request: Request,
    user: AdminOnly,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, user, endpoint_id)


@router.post("/webhooks/{endpoint_id}/rotate", response_model=None)
async def rotate(endpoint_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=None, staff=True, lock=True)
    config = request.app.state.settings.webhooks()
    overlap = timedelta(seconds=config.rotation_overlap_seconds)
    secret = await hooks.rotate_secret(session, user, row, secret_key=config.secret_key, overlap=overlap)
    hours = config.rotation_overlap_seconds / 3600
    note = (
        f"Shown once. For {hours:g} h the old secret also signs (a second v1=): the receiver swaps without rejecting an event."
        if hours
        else "Shown once. The old secret no longer signs."
    )
    return await _detail(request, session, user, endpoint_id, once=_once("New signing secret", secret, note))


@router.post("/webhooks/{endpoint_id}/pause", response_model=None)
async def pause(endpoint_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=None, staff=True, lock=True)
    await hooks.pause_endpoint(session, user, row, f"paused by {user.label}")
    return redirect(request, f"/admin/webhooks/{endpoint_id}", "Paused: its deliveries are held until you resume it")


@router.post("/webhooks/{endpoint_id}/resume", response_model=None)
async def resume(endpoint_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=None, staff=True)
    held = await hooks.resume_endpoint(session, user, row)
    return redirect(request, f"/admin/webhooks/{endpoint_id}", f"Resumed: {held} held deliveries go out in order")


@router.post("/webhooks/{endpoint_id}/delete", response_model=None)
async def delete(endpoint_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    """Asks first (a server-rendered confirmation, as every destructive admin action)."""
    row = await hooks.get_endpoint(session, endpoint_id, tenant=None, staff=True, lock=True)
    if not is_confirmed(form):
        return confirm_page(
            request,
            title="Delete webhook endpoint",
            question=f"Delete the endpoint {row.url}?",
            consequences=hooks.delete_consequences(),
            action=f"/admin/webhooks/{endpoint_id}/delete",
            back=f"/admin/webhooks/{endpoint_id}",
            button="Delete endpoint",
        )
    await hooks.delete_endpoint(session, user, row)
    return redirect(request, "/admin/webhooks", f"Endpoint {row.url} deleted")


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=None)
async def redeliver(delivery_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    found = await hooks.get_delivery(session, delivery_id, tenant=None, staff=True, lock=True)
    await hooks.redeliver(session, user, found)
    return redirect(request, f"/admin/webhooks/{found.endpoint.id}", f"{found.event.type} queued again (same event id)")
