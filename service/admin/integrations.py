"""The integrations page (issue 13): every target system seatlease talks to — configured or not and
which setting turns it on, last success and error, work pending and failed — the reconciler's
liveness, and the mass-revocation guards with Confirm / Reject. The same read-model as
`GET /v1/integrations` and the same use-cases as the API's guard routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from provisioning import credentials
from service.admin.web import CsrfForm, Ops, attempt, redirect, render
from service.db import SessionDep
from service.integrations import read_integrations

router = APIRouter()
PAGE = "/admin/integrations"


@router.get("/integrations", response_class=HTMLResponse)
async def integrations_page(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    data = await read_integrations(session, request.app.state.settings)
    return render(request, "integrations.html", {"data": data, "flash": request.query_params.get("flash")})


@router.post("/integrations/guards/{guard_id}/confirm", response_model=None)
async def confirm_guard(request: Request, guard_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    guard, error = await attempt(session, lambda: credentials.confirm_guard(session, user, guard_id))
    if error is not None:
        return redirect(request, PAGE, f"Confirm refused: {error.detail}")
    done = f"Confirmed: the reconciler revokes the {guard.would_revoke} held credentials on its next pass"
    return redirect(request, PAGE, done)


@router.post("/integrations/guards/{guard_id}/reject", response_model=None)
async def reject_guard(request: Request, guard_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    reason = str(form.get("reason") or "")[:500]
    guard, error = await attempt(session, lambda: credentials.reject_guard(session, user, guard_id, reason))
    if error is not None:
        return redirect(request, PAGE, f"Reject refused: {error.detail}")
    return redirect(request, PAGE, f"Rejected: the {guard.would_revoke} held credentials stay active")
