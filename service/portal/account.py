"""My account in the portal (issue 14): every client login changes its own password here, and a
temporary password set by the client's admin leads here before anything else (the shell's
redirect). The same use-case and form as the admin's (service/admin/account.py). The one-time
reset link a client's admin hands out opens /portal/password-reset, which needs no sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.admin.account import change_own_password, use_reset_link_form
from service.db import SessionDep
from service.portal.web import Client, CsrfForm, render

router = APIRouter()


def _account(request: Request, errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context = {"errors": errors or {}, "flash": request.query_params.get("flash")}
    return render(request, "portal/account.html", context, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, user: Client) -> HTMLResponse:
    return _account(request)


@router.post("/account/password", response_model=None)
async def change_password(request: Request, user: Client, session: SessionDep, form: CsrfForm) -> Response:
    return await change_own_password(request, user, session, form, _account)


def _reset(request: Request, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, "portal/password_reset.html", {"errors": {}, "done": None, **ctx}, status_code=status_code)


@router.get("/password-reset", response_class=HTMLResponse)
async def reset_page(request: Request) -> HTMLResponse:
    return _reset(request, {})


@router.post("/password-reset", response_model=None)
async def use_reset_link(request: Request, form: CsrfForm) -> Response:
    return await use_reset_link_form(request, form, _reset)
