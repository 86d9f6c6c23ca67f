"""The API credentials page (issue 13, people and keys): machine clients of the client_credentials
grant, made for a client or for a staff machine role, rotated and revoked. Admins only. A secret
is shown once, in the answer to the POST that made it; the client's page lists its credentials."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services import api_credentials as creds
from domain.services import people
from domain.services.user_schemas import ApiCredentialCreate
from service.admin.web import AdminOnly, CsrfForm, Staff, attempt, blank_to_none, optional_uuid, redirect, render, validate_form
from service.auth import Principal, hash_secret_bounded
from service.db import SessionDep

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}
ROLES = ("client_admin", "client_viewer", *creds.MACHINE_STAFF_ROLES)


async def _page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    q = request.query_params
    client_id = optional_uuid(q.get("client_id"))
    cursor = q.get("cursor") if optional_uuid(q.get("cursor")) else None
    rows, nxt = await creds.list_credentials(
        session, tenant=None, staff=True, client_id=client_id, active=None, cursor=cursor, limit=50
    )
    return render(
        request,
        "api_credentials.html",
        {
            "rows": rows,
            "next_cursor": nxt,
            "client_id": str(client_id or ""),
            "clients": await people.client_names(session),
            "roles": ROLES,
            "once": once,
            "errors": errors or {},
            "v": values or {"client_id": str(client_id or "")},
            "flash": q.get("flash"),
        },
        status_code=status_code,
        headers=NO_STORE if once else None,
    )


@router.get("/api-credentials", response_class=HTMLResponse)
async def credentials_page(
    request: Request,
    user: AdminOnly,
    session: SessionDep,
    client_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    return await _page(request, session, user)


@router.post("/api-credentials", response_model=None)
async def create_credential(request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(ApiCredentialCreate, blank_to_none(values, "client_id"))
    if body is not None:
        secret = people.new_secret(32)
        secret_hash = await hash_secret_bounded(request.app.state.settings, secret)

        async def make() -> Any:
            creds.check_role(body.role, client_id=body.client_id, staff=True, tenant=None)
            return await creds.create(
                session, user, name=body.name, role=body.role, client_id=body.client_id, secret_hash=secret_hash
            )

        row, error = await attempt(session, make)
        if error is None:
            return await _page(request, session, user, once=_once(f"API credential “{row.name}” created", row.client_key, secret))
        errors = {error.field or "__all__": error.detail}
    return await _page(request, session, user, errors=errors, values=values, status_code=422)


def _once(title: str, key: str, secret: str) -> dict[str, str]:
    return {
        "title": title,
        "label": "Client secret",
        "value": secret,
        "key": key,
        "note": "Shown once: the server keeps only its hash. Ask for a token with grant_type=client_credentials, "
        "client_id and client_secret at POST /v1/auth/token.",
    }


@router.post("/api-credentials/{credential_id}/rotate", response_model=None)
async def rotate_credential(
    credential_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm
) -> Response:
    secret = people.new_secret(32)
    secret_hash = await hash_secret_bounded(request.app.state.settings, secret)
    row = await creds.get(session, credential_id, tenant=None, staff=True)
    _, error = await attempt(session, lambda: creds.rotate(session, user, row, secret_hash))
    if error is not None:
        return await _page(request, session, user, errors={"__all__": error.detail}, status_code=error.status)
    once = _once(f"New secret for “{row.name}”", row.client_key, secret)
    once["note"] = "Shown once. The old secret and every token issued under it no longer work. " + once["note"]
    return await _page(request, session, user, once=once)


@router.post("/api-credentials/{credential_id}/revoke", response_model=None)
async def revoke_credential(
    credential_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm
) -> Response:
    row = await creds.get(session, credential_id, tenant=None, staff=True)
    await creds.revoke(session, user, row)
    return redirect(request, "/admin/api-credentials", f"“{row.name}” revoked: its secret and tokens no longer work")


@router.get("/clients/{client_id}/api-credentials", response_class=HTMLResponse)
async def client_credentials(client_id: uuid.UUID, request: Request, user: Staff, session: SessionDep) -> HTMLResponse:
    """The client page's list (loaded into it by htmx): its credentials and their last use."""
    rows, _ = await creds.list_credentials(
        session, tenant=None, staff=True, client_id=client_id, active=None, cursor=None, limit=100
    )
    return render(request, "_client_credentials.html", {"rows": rows, "client_id": client_id})
