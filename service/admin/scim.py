"""A client's SCIM token from the admin (issue 14): staff see whether the client's identity provider
is connected; an admin issues, rotates or revokes the token on the client's behalf (shown once, in
the answer to the POST that made it). The same use-cases as the API and the portal."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services import clients, scim_people, scim_tokens
from service.admin.web import AdminOnly, CsrfForm, Staff, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()


async def _page(
    request: Request, session: AsyncSession, client_id: uuid.UUID, once: dict[str, str] | None = None
) -> HTMLResponse:
    client = await clients.get_client(session, client_id)
    context = {
        "client": client,
        "status": await scim_tokens.token_status(session, client.id),
        "endpoint": str(request.base_url).rstrip("/") + f"/scim/v2/clients/{client.id}",
        "deprovisions": await scim_people.recent_deprovisions(session, client.id),
        "once": once,
        "flash": request.query_params.get("flash"),
        "is_admin": getattr(getattr(request.state, "principal", None), "role", None) == "admin",
    }
    return render(request, "scim_token.html", context, headers={"Cache-Control": "no-store"} if once else None)


@router.get("/clients/{client_id}/scim", response_class=HTMLResponse)
async def scim_page(request: Request, client_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    return await _page(request, session, client_id)


@router.post("/clients/{client_id}/scim/token", response_class=HTMLResponse)
async def issue(request: Request, client_id: uuid.UUID, user: AdminOnly, session: SessionDep, form: CsrfForm) -> HTMLResponse:
    await clients.get_client(session, client_id)
    token, _ = await scim_tokens.issue_token(session, user, client_id)
    once = {
        "title": "The client's SCIM token",
        "label": "Bearer token",
        "value": token,
        "note": "Shown this once: hand it to the client's IT admin over a safe channel. Any earlier token has stopped working.",
    }
    return await _page(request, session, client_id, once)


@router.post("/clients/{client_id}/scim/revoke", response_model=None)
async def revoke(request: Request, client_id: uuid.UUID, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    back = f"/admin/clients/{client_id}/scim"
    _, error = await attempt(session, lambda: scim_tokens.revoke_token(session, user, client_id))
    if error is not None:
        return redirect(request, back, f"Nothing to revoke: {error.detail}")
    return redirect(request, back, "SCIM token revoked: the client's identity provider is refused until a new one is issued")
