"""The client's own logins and API credentials in the portal (issue 14): client admins only (a
viewer gets a 403 page and no menu entry). The same use-cases as `/v1/users` and
`/v1/api-credentials` for a client_admin (domain/services/people.py, users.py, api_credentials.py),
tenant-scoped: only its own client's logins and credentials, client roles only, another tenant's a
404. A password, reset link or secret is shown once, in the answer to the POST that made it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.user import CLIENT_ROLES
from domain.services import api_credentials as creds
from domain.services import people, users
from domain.services.user_schemas import ApiCredentialCreate, UserCreate
from service.auth import Principal, hash_secret_bounded
from service.db import SessionDep
from service.portal.web import ClientAdmin, CsrfForm, attempt, blank_to_none, redirect, render, tenant, validate_form

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}  # a page showing a secret once is never cached
ROLES = tuple(str(r) for r in CLIENT_ROLES)


# ---- logins ----------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows, _ = await people.list_users(session, people.UserFilter(), tenant=tenant(user), staff=False, cursor=None, limit=500)
    context = {
        "rows": sorted(rows, key=lambda u: u.email),
        "roles": ROLES,
        "once": once,
        "errors": errors or {},
        "v": values or {},
        "flash": request.query_params.get("flash"),
        "me": user.subject,
    }
    return render(request, "portal/users.html", context, status_code=status_code, headers=NO_STORE if once else None)


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, user: ClientAdmin, session: SessionDep) -> HTMLResponse:
    return await _users_page(request, session, user)


@router.post("/users", response_model=None)
async def create_user(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """A login of the client's own, client_admin or client_viewer (as POST /v1/users for a client_admin)."""
    values = {k: str(v).strip() for k, v in form.items() if k in ("email", "role", "password")}
    body, errors = validate_form(UserCreate, {**blank_to_none(values, "password"), "client_id": str(tenant(user))})
    if body is not None:
        temporary = people.new_secret() if body.password is None else None
        password_hash = await hash_secret_bounded(request.app.state.settings, body.password or temporary or "")

        async def make() -> Any:
            people.check_may_manage_role(body.role, staff=False, tenant=tenant(user), client_id=tenant(user))
            return await people.create_login(
                session,
                user,
                email=body.email,
                password_hash=password_hash,
                role=body.role,
                client_id=tenant(user),
                temporary=temporary is not None,
            )

        row, error = await attempt(session, make)
        if error is None:
            if temporary is None:
                return redirect(request, "/portal/users", f"Login {row.email} created")
            once = {
                "title": f"Login {row.email} created",
                "label": "Temporary password",
                "value": temporary,
                "note": "Shown once. Give it to the user: they must change it at their first sign-in at /portal.",
            }
            return await _users_page(request, session, user, once=once)
        errors = {error.field or "__all__": error.detail}
    values.pop("password", None)  # a typed password is never sent back
    return await _users_page(request, session, user, errors=errors, values=values, status_code=422)


@router.post("/users/{user_id}/active", response_model=None)
async def set_active(user_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    active = str(form.get("active")) == "true"
    row = await users.get_user(session, user_id, tenant=tenant(user), staff=False)
    _, error = await attempt(session, lambda: people.disable_or_enable(session, user, row, active))
    if error is not None:
        return await _users_page(request, session, user, errors={"__all__": error.detail}, status_code=error.status)
    what = "enabled" if active else "disabled: its sessions have ended"
    return redirect(request, "/portal/users", f"Login {row.email} {what}")


@router.post("/users/{user_id}/reset", response_model=None)
async def reset_password(
    user_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    row = await users.get_user(session, user_id, tenant=tenant(user), staff=False)
    if str(form.get("method")) == "temporary_password":
        temporary = people.new_secret()
        await people.set_temporary_password(session, user, row, await hash_secret_bounded(request.app.state.settings, temporary))
        once = {
            "title": f"Temporary password for {row.email}",
            "label": "Temporary password",
            "value": temporary,
            "note": "Shown once. Their sessions have ended; they must change it at their next sign-in.",
        }
    else:
        token, expires = await people.create_reset_link(session, user, row)
        # the token rides in the fragment: browsers never send it, so no access log ever holds it
        url = str(request.base_url).rstrip("/") + "/portal/password-reset#token=" + token
        once = {
            "title": f"Reset link for {row.email}",
            "label": "One-time link",
            "value": url,
            "note": f"Shown once. Works once, until {expires:%Y-%m-%d %H:%M} UTC; earlier links of this login no longer work.",
        }
    return await _users_page(request, session, user, once=once)


# ---- API credentials ---------------------------------------------------------------------------


async def _keys_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows, _ = await creds.list_credentials(
        session, tenant=tenant(user), staff=False, client_id=tenant(user), active=None, cursor=None, limit=500
    )
    context = {
        "rows": sorted(rows, key=lambda c: (not c.active, c.name.lower())),
        "roles": ROLES,
        "once": once,
        "errors": errors or {},
        "v": values or {},
        "flash": request.query_params.get("flash"),
    }
    return render(request, "portal/api_credentials.html", context, status_code=status_code, headers=NO_STORE if once else None)


def _once(title: str, key: str, secret: str, note: str = "") -> dict[str, str]:
    return {
        "title": title,
        "label": "Client secret",
        "value": secret,
        "key": key,
        "note": note + "Shown once: the server keeps only its hash. Ask for a token with grant_type=client_credentials, "
        "client_id and client_secret at POST /v1/auth/token.",
    }


@router.get("/api-credentials", response_class=HTMLResponse)
async def credentials_page(request: Request, user: ClientAdmin, session: SessionDep) -> HTMLResponse:
    return await _keys_page(request, session, user)


@router.post("/api-credentials", response_model=None)
async def create_credential(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v).strip() for k, v in form.items() if k in ("name", "role")}
    body, errors = validate_form(ApiCredentialCreate, {**values, "client_id": str(tenant(user))})
    if body is not None:
        secret = people.new_secret(32)
        secret_hash = await hash_secret_bounded(request.app.state.settings, secret)

        async def make() -> Any:
            creds.check_role(body.role, client_id=tenant(user), staff=False, tenant=tenant(user))
            return await creds.create(
                session, user, name=body.name, role=body.role, client_id=tenant(user), secret_hash=secret_hash
            )

        row, error = await attempt(session, make)
        if error is None:
            return await _keys_page(
                request, session, user, once=_once(f"API credential “{row.name}” created", row.client_key, secret)
            )
        errors = {error.field or "__all__": error.detail}
    return await _keys_page(request, session, user, errors=errors, values=values, status_code=422)


@router.post("/api-credentials/{api_credential_id}/rotate", response_model=None)
async def rotate_credential(
    api_credential_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    secret = people.new_secret(32)
    secret_hash = await hash_secret_bounded(request.app.state.settings, secret)  # hashed before the row is locked
    row = await creds.get(session, api_credential_id, tenant=tenant(user), staff=False)
    _, error = await attempt(session, lambda: creds.rotate(session, user, row, secret_hash))
    if error is not None:
        return await _keys_page(request, session, user, errors={"__all__": error.detail}, status_code=error.status)
    note = "The old secret and every token issued under it no longer work. "
    return await _keys_page(request, session, user, once=_once(f"New secret for “{row.name}”", row.client_key, secret, note))


@router.post("/api-credentials/{api_credential_id}/revoke", response_model=None)
async def revoke_credential(
    api_credential_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    row = await creds.get(session, api_credential_id, tenant=tenant(user), staff=False)
    await creds.revoke(session, user, row)
    return redirect(request, "/portal/api-credentials", f"“{row.name}” revoked: its secret and tokens no longer work")
