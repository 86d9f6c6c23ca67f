"""The portal's identity-provider page (issue 14): the client's SCIM endpoint, its token (issued or
rotated and revoked by the client's admin; shown once, in the answer to the POST that made it) and
the agents its identity provider deprovisioned lately, with how long until their access was cut.
The same use-cases as the API (domain/services/scim_tokens.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services import scim_people, scim_tokens
from service.auth import Principal
from service.db import SessionDep
from service.portal.web import Client, ClientAdmin, CsrfForm, attempt, redirect, render, tenant

router = APIRouter(prefix="/portal", include_in_schema=False)
PAGE = "/portal/identity-provider"
NO_STORE = {"Cache-Control": "no-store"}


async def _page(request: Request, session: AsyncSession, user: Principal, once: dict[str, str] | None = None) -> HTMLResponse:
    client_id = tenant(user)
    endpoint = str(request.base_url).rstrip("/") + f"/scim/v2/clients/{client_id}"
    context = {
        "status": await scim_tokens.token_status(session, client_id),
        "endpoint": endpoint,
        "deprovisions": await scim_people.recent_deprovisions(session, client_id),
        "once": once,
        "flash": request.query_params.get("flash"),
    }
    return render(request, "portal/identity_provider.html", context, headers=NO_STORE if once else None)


@router.get("/identity-provider", response_class=HTMLResponse)
async def identity_provider(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    return await _page(request, session, user)


@router.post("/identity-provider/token", response_class=HTMLResponse)
async def issue_token(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> HTMLResponse:
    token, _ = await scim_tokens.issue_token(session, user, tenant(user))
    once = {
        "title": "Your SCIM token",
        "label": "Bearer token",
        "value": token,
        "note": "Shown this once: paste it into your identity provider now. Any earlier token has stopped working.",
    }
    return await _page(request, session, user, once)


@router.post("/identity-provider/revoke", response_model=None)
async def revoke_token(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    _, error = await attempt(session, lambda: scim_tokens.revoke_token(session, user, tenant(user)))
    if error is not None:
        return redirect(request, PAGE, f"Nothing to revoke: {error.detail}")
    return redirect(request, PAGE, "SCIM token revoked: your identity provider's calls are refused until you issue a new one")
