"""My account and the password-reset page (issue 13, people and keys).

My account: every staff login changes its own password here; every other session of the login ends,
this browser is signed in again. A temporary password leads here before any other page, and the
first admin's printed password is pointed here from every page.

The reset page needs no sign-in: its link carries the token in the URL's fragment, which browsers
never send (no server or proxy log holds it); admin.js copies it into the form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.errors import DomainError, Unauthorized
from domain.services import people, users
from domain.services.audit import SystemActor
from domain.services.user_schemas import PasswordChange, PasswordResetUse
from service.admin.web import COOKIE, SESSION_TTL_SECONDS, CsrfForm, Staff, render, set_cookie, sign_session, validate_form
from service.auth import hash_secret_bounded, verify_own_password
from service.db import SessionDep

router = APIRouter()


def _account(request: Request, errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(
        request,
        "account.html",
        {"errors": errors or {}, "flash": request.query_params.get("flash")},
        status_code=status_code,
    )


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, user: Staff) -> HTMLResponse:
    return _account(request)


@router.post("/account/password", response_model=None)
async def change_password(request: Request, user: Staff, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v) for k, v in form.items()}
    body, errors = validate_form(PasswordChange, {k: values.get(k, "") for k in ("current_password", "new_password")})
    if body is not None and values.get("confirm_password") != body.new_password:
        errors = {"confirm_password": "the two new passwords differ"}
    if body is not None and not errors and body.new_password == body.current_password:
        errors = {"new_password": "choose a password other than the current one"}
    if body is None or errors:
        return _account(request, errors, 422)
    try:
        await verify_own_password(request, user, body.current_password)
    except users.TooManyAttempts as exc:
        return _account(request, {"__all__": f"Too many attempts; try again in {exc.retry_after // 60 + 1} minutes."}, 429)
    except Unauthorized:
        return _account(request, {"current_password": "the current password is wrong"}, 422)
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    row = await users.get_user(session, user.subject, tenant=None, staff=True)
    await users.change_password(session, user, row, new_hash)
    await session.refresh(row)
    # every other session ended with the version bump; this browser goes on under the new version
    response = RedirectResponse("/admin/account?flash=" + "Password%20changed.%20Your%20other%20sessions%20have%20ended.", 303)
    set_cookie(request, response, COOKIE, sign_session(request, row.id, row.token_version), SESSION_TTL_SECONDS)
    return response


# ---- the one-time reset link ------------------------------------------------------------------


def _reset(request: Request, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, "password_reset.html", {"errors": {}, "done": None, **ctx}, status_code=status_code)


@router.get("/password-reset", response_class=HTMLResponse)
async def reset_page(request: Request) -> HTMLResponse:
    return _reset(request, {})


@router.post("/password-reset", response_model=None)
async def use_reset_link(request: Request, form: CsrfForm) -> Response:
    values = {k: str(v) for k, v in form.items()}
    body, errors = validate_form(
        PasswordResetUse, {"token": values.get("token", "").strip(), "new_password": values.get("new_password", "")}
    )
    if body is not None and values.get("confirm_password") != body.new_password:
        errors = {"confirm_password": "the two new passwords differ"}
    if body is None or errors:
        if "token" in errors:
            errors = {**errors, "token": "this link is incomplete: open the whole link you were given"}
        return _reset(request, {"errors": errors}, 422)
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    try:
        async with request.app.state.sessionmaker() as session, session.begin():
            user = await people.use_reset_link(session, SystemActor("password-reset link"), body.token, new_hash)
            done = {"email": user.email, "staff": user.client_id is None}
    except DomainError as exc:
        return _reset(request, {"errors": {"__all__": exc.detail}}, exc.status)
    return _reset(request, {"done": done})
