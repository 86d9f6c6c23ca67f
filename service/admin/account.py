"""My account and the password-reset page (issue 13, people and keys).

My account: every staff login changes its own password here; every other session of the login ends,
this browser is signed in again. A temporary password leads here before any other page, and the
first admin's printed password is pointed here from every page.

The reset page needs no sign-in: its link carries the token in the URL's fragment, which browsers
never send (no server or proxy log holds it); admin.js copies it into the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, Unauthorized
from domain.services import people, users
from domain.services.audit import SystemActor
from domain.services.user_schemas import PasswordChange, PasswordResetUse
from service.admin.web import (
    SESSION_TTL_SECONDS,
    CsrfForm,
    Staff,
    realm,
    render,
    session_cookie,
    set_cookie,
    sign_session,
    validate_form,
)
from service.auth import Principal, hash_secret_bounded, verify_own_password
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
    return await change_own_password(request, user, session, form, _account)


# The admin's and the client portal's My account share this (issue 14): each realm draws its own page
# (``page``: the account page with errors), signs its own cookie and comes back to its own /account.
AccountPage = Callable[[Request, dict[str, str], int], HTMLResponse]


async def change_own_password(
    request: Request, user: Principal, session: AsyncSession, form: dict[str, Any], page: AccountPage
) -> Response:
    """The signed-in login changes its own password: the current one checked under the sign-in
    throttle, the new one twice; every other session ends and this browser goes on signed in."""
    values = {k: str(v) for k, v in form.items()}
    body, errors = validate_form(PasswordChange, {k: values.get(k, "") for k in ("current_password", "new_password")})
    if body is not None and values.get("confirm_password") != body.new_password:
        errors = {"confirm_password": "the two new passwords differ"}
    if body is not None and not errors and body.new_password == body.current_password:
        errors = {"new_password": "choose a password other than the current one"}
    if body is None or errors:
        return page(request, errors, 422)
    try:
        await verify_own_password(request, user, body.current_password)
    except users.TooManyAttempts as exc:
        return page(request, {"__all__": f"Too many attempts; try again in {exc.retry_after // 60 + 1} minutes."}, 429)
    except Unauthorized:
        return page(request, {"current_password": "the current password is wrong"}, 422)
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    row = await users.get_user(session, user.subject, tenant=None, staff=True)
    await users.change_password(session, user, row, new_hash)
    await session.refresh(row)
    # every other session ended with the version bump; this browser goes on under the new version
    where = "/" + realm(request) + "/account"
    response = RedirectResponse(where + "?flash=" + "Password%20changed.%20Your%20other%20sessions%20have%20ended.", 303)
    set_cookie(request, response, session_cookie(request), sign_session(request, row.id, row.token_version), SESSION_TTL_SECONDS)
    return response


# ---- the one-time reset link ------------------------------------------------------------------


def _reset(request: Request, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, "password_reset.html", {"errors": {}, "done": None, **ctx}, status_code=status_code)


@router.get("/password-reset", response_class=HTMLResponse)
async def reset_page(request: Request) -> HTMLResponse:
    return _reset(request, {})


@router.post("/password-reset", response_model=None)
async def use_reset_link(request: Request, form: CsrfForm) -> Response:
    return await use_reset_link_form(request, form, _reset)


async def use_reset_link_form(
    request: Request, form: dict[str, Any], page: Callable[[Request, dict[str, Any], int], HTMLResponse]
) -> Response:
    """A one-time reset link's form (no sign-in: the token is the proof), for the admin and the portal."""
    values = {k: str(v) for k, v in form.items()}
    body, errors = validate_form(
        PasswordResetUse, {"token": values.get("token", "").strip(), "new_password": values.get("new_password", "")}
    )
    if body is not None and values.get("confirm_password") != body.new_password:
        errors = {"confirm_password": "the two new passwords differ"}
    if body is None or errors:
        if "token" in errors:
            errors = {**errors, "token": "this link is incomplete: open the whole link you were given"}
        return page(request, {"errors": errors}, 422)
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    try:
        async with request.app.state.sessionmaker() as session, session.begin():
            user = await people.use_reset_link(session, SystemActor("password-reset link"), body.token, new_hash)
            done = {"email": user.email, "staff": user.client_id is None}
    except DomainError as exc:
        return page(request, {"errors": {"__all__": exc.detail}}, exc.status)
    return page(request, {"done": done}, 200)
