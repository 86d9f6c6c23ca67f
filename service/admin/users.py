"""The Users page (issue 13, people and keys): staff and client logins listed, created, disabled,
enabled and reset. Admins only: facility staff and finance change their own password (My account)
and manage no one else's. A password or reset link is shown once, in the answer to the POST that
made it, never put in a URL or a flash message."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.models.user import Role
from domain.services import people, users
from domain.services.user_schemas import UserCreate
from service.admin.web import AdminOnly, CsrfForm, attempt, blank_to_none, optional_uuid, redirect, render, validate_form
from service.auth import Principal, hash_secret_bounded
from service.db import SessionDep

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}  # a page showing a secret once is never cached


FILTER_KEYS = ("role", "client_id", "active", "email")


def _filter(role: str | None, client_id: str | None, active: str | None, email: str | None) -> people.UserFilter:
    return people.UserFilter(
        role=role if role in tuple(Role) else None,
        client_id=optional_uuid(client_id),
        active={"yes": True, "no": False}.get(active or ""),
        email=email or None,
    )


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
    f = _filter(q.get("role"), q.get("client_id"), q.get("active"), q.get("email"))
    cursor = q.get("cursor") if optional_uuid(q.get("cursor")) else None
    rows, nxt = await people.list_users(session, f, tenant=None, staff=True, cursor=cursor, limit=50)
    return render(
        request,
        "users.html",
        {
            "rows": rows,
            "next_cursor": nxt,
            "f": f,
            "q": {k: q.get(k, "") for k in FILTER_KEYS},
            "roles": [r.value for r in Role],
            "clients": await people.client_names(session),
            "once": once,
            "errors": errors or {},
            "v": values or {},
            "flash": q.get("flash"),
            "me": user.subject,
        },
        status_code=status_code,
        headers=NO_STORE if once else None,
    )


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    user: AdminOnly,
    session: SessionDep,
    role: Annotated[str | None, Query(max_length=32)] = None,
    client_id: Annotated[str | None, Query(max_length=40)] = None,
    active: Annotated[str | None, Query(max_length=8)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    return await _page(request, session, user)


@router.post("/users", response_model=None)
async def create_user(request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v).strip() for k, v in form.items()}
    body, errors = validate_form(UserCreate, blank_to_none(values, "client_id", "password"))
    if body is not None:
        temporary = people.new_secret() if body.password is None else None
        password_hash = await hash_secret_bounded(request.app.state.settings, body.password or temporary or "")

        async def make() -> Any:
            people.check_may_manage_role(body.role, staff=True, tenant=None, client_id=body.client_id)
            return await people.create_login(
                session,
                user,
                email=body.email,
                password_hash=password_hash,
                role=body.role,
                client_id=body.client_id,
                temporary=temporary is not None,
            )

        row, error = await attempt(session, make)
        if error is None:
            if temporary is None:
                return redirect(request, "/admin/users", f"Login {row.email} created")
            once = {
                "title": f"Login {row.email} created",
                "label": "Temporary password",
                "value": temporary,
                "note": "Shown once. Give it to the user: they must change it at their first sign-in.",
            }
            return await _page(request, session, user, once=once)
        errors = {error.field or "__all__": error.detail}
    values.pop("password", None)  # a typed password is never sent back
    return await _page(request, session, user, errors=errors, values=values, status_code=422)


@router.post("/users/{user_id}/active", response_model=None)
async def set_active(user_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    active = str(form.get("active")) == "true"
    row = await users.get_user(session, user_id, tenant=None, staff=True)
    _, error = await attempt(session, lambda: people.disable_or_enable(session, user, row, active))
    if error is not None:
        return await _error(request, session, user, error)
    what = "enabled" if active else "disabled: its sessions have ended"
    # back to the list as it was filtered (only the list's own filters: never a URL from the form)
    back = urlencode({k: str(form.get(f"q_{k}")) for k in FILTER_KEYS if form.get(f"q_{k}")})
    return redirect(request, "/admin/users" + (f"?{back}" if back else ""), f"Login {row.email} {what}")


@router.post("/users/{user_id}/reset", response_model=None)
async def reset_password(user_id: uuid.UUID, request: Request, user: AdminOnly, session: SessionDep, form: CsrfForm) -> Response:
    row = await users.get_user(session, user_id, tenant=None, staff=True)
    if str(form.get("method")) == "temporary_password":
        temporary = people.new_secret()
        password_hash = await hash_secret_bounded(request.app.state.settings, temporary)
        await people.set_temporary_password(session, user, row, password_hash)
        once = {
            "title": f"Temporary password for {row.email}",
            "label": "Temporary password",
            "value": temporary,
            "note": "Shown once. Their sessions have ended; they must change it at their next sign-in.",
        }
    else:
        token, expires = await people.create_reset_link(session, user, row)
        url = str(request.base_url).rstrip("/") + "/admin/password-reset#token=" + token
        once = {
            "title": f"Reset link for {row.email}",
            "label": "One-time link",
            "value": url,
            "note": f"Shown once. Works once, until {expires:%Y-%m-%d %H:%M} UTC; earlier links of this login no longer work.",
        }
    return await _page(request, session, user, once=once)


async def _error(request: Request, session: AsyncSession, user: Principal, error: DomainError) -> HTMLResponse:
    return await _page(request, session, user, errors={"__all__": error.detail}, status_code=error.status)
