"""The portal's webhooks (issue 14): a client's admin chooses where its own events go and which, sees
each endpoint's delivery log, redelivers, pauses and resumes, rotates the secret (shown once) and
deletes. The same use-cases as the API (domain/webhooks/endpoints.py); another client's endpoint or
delivery is a 404. Client admins only (a viewer is refused, as in the API)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.webhooks import endpoints as hooks
from domain.webhooks.catalog import EVENT_TYPES
from domain.webhooks.schemas import EndpointCreate
from service.auth import Principal
from service.db import SessionDep
from service.portal.web import ClientAdmin, CsrfForm, attempt, redirect, render, tenant, validate_form

router = APIRouter(include_in_schema=False)  # included by service/portal/routes.py under /portal
NO_STORE = {"Cache-Control": "no-store"}
NOTE = "Shown once: copy it into your receiver now, which checks each delivery's Seatlease-Signature with it (API docs)."


def _once(title: str, secret: str, note: str = NOTE) -> dict[str, str]:
    return {"title": title, "label": "Signing secret", "value": secret, "key": "", "note": note}


async def _list(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = await hooks.list_endpoints(session, tenant=tenant(user), staff=False, client_id=None, facility=None)
    return render(
        request,
        "portal/webhooks.html",
        {
            "rows": rows,
            "types": hooks.event_types(),
            "base": "/portal",
            "form_title": "New endpoint",
            "once": once,
            "errors": errors or {},
            "v": values or {"event_types": list(EVENT_TYPES)},
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
        headers=NO_STORE if once else None,
    )


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, user: ClientAdmin, session: SessionDep) -> HTMLResponse:
    return await _list(request, session, user)


@router.post("/webhooks", response_model=None)
async def create_endpoint(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    types = [str(t) for t in (await request.form()).getlist("event_types")]
    values = {
        "url": str(form.get("url", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "event_types": types,
    }
    body, errors = validate_form(EndpointCreate, values)
    if body is not None:
        config = request.app.state.settings.webhooks()

        async def make() -> Any:
            return await hooks.create_endpoint(
                session,
                user,
                client_id=tenant(user),
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                rules=config.rules,
                secret_key=config.secret_key,
            )

        made, error = await attempt(session, make)
        if error is None:
            row, secret = made
            return await _list(request, session, user, once=_once(f"Endpoint {row.url} created", secret))
        errors = {error.field or "__all__": error.detail}
    return await _list(request, session, user, errors=errors, values=values, status_code=422)


async def _detail(
    request: Request, session: AsyncSession, user: Principal, endpoint_id: uuid.UUID, *, once: dict[str, str] | None = None
) -> HTMLResponse:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=tenant(user), staff=False)
    q = request.query_params
    status = q.get("status") if q.get("status") in ("pending", "held", "delivered") else None
    cursor = q.get("cursor") if (q.get("cursor") or "").isdigit() else None
    items, nxt = await hooks.list_deliveries(session, row, status=status, before_seq=int(cursor) if cursor else None, limit=50)
    context = {"ep": row, "base": "/portal", "deliveries": items, "next_cursor": nxt, "status": status or "", "once": once}
    return render(request, "portal/webhook_detail.html", {**context, "flash": q.get("flash")}, headers=NO_STORE if once else None)


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(
    endpoint_id: uuid.UUID,
    request: Request,
    user: ClientAdmin,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await _detail(request, session, user, endpoint_id)


@router.post("/webhooks/{endpoint_id}/rotate", response_model=None)
async def rotate(endpoint_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=tenant(user), staff=False, lock=True)
    config = request.app.state.settings.webhooks()
    overlap = timedelta(seconds=config.rotation_overlap_seconds)
    secret = await hooks.rotate_secret(session, user, row, secret_key=config.secret_key, overlap=overlap)
    hours = config.rotation_overlap_seconds / 3600
    note = NOTE + (f" For {hours:g} h the old secret also signs (a second v1=)." if hours else " The old secret no longer signs.")
    return await _detail(request, session, user, endpoint_id, once=_once("New signing secret", secret, note))


@router.post("/webhooks/{endpoint_id}/pause", response_model=None)
async def pause(endpoint_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=tenant(user), staff=False, lock=True)
    await hooks.pause_endpoint(session, user, row, f"paused by {user.label}")
    return redirect(request, f"/portal/webhooks/{endpoint_id}", "Paused: its deliveries are held until you resume it")


@router.post("/webhooks/{endpoint_id}/resume", response_model=None)
async def resume(endpoint_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=tenant(user), staff=False)
    held = await hooks.resume_endpoint(session, user, row)
    return redirect(request, f"/portal/webhooks/{endpoint_id}", f"Resumed: {held} held deliveries go out in order")


@router.post("/webhooks/{endpoint_id}/delete", response_model=None)
async def delete(endpoint_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    row = await hooks.get_endpoint(session, endpoint_id, tenant=tenant(user), staff=False, lock=True)
    if str(form.get("confirmed") or "") != "yes":  # asks first, on a page of its own (no script needed)
        context = {"ep": row, "consequences": hooks.delete_consequences()}
        return render(request, "portal/webhook_delete.html", context)
    await hooks.delete_endpoint(session, user, row)
    return redirect(request, "/portal/webhooks", f"Endpoint {row.url} deleted")


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=None)
async def redeliver(delivery_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    found = await hooks.get_delivery(session, delivery_id, tenant=tenant(user), staff=False, lock=True)
    await hooks.redeliver(session, user, found)
    return redirect(request, f"/portal/webhooks/{found.endpoint.id}", f"{found.event.type} queued again (same event id)")
