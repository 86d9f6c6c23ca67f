"""What every portal page shares: the client's session, its role guards, rendering, navigation.

The portal is the admin's sibling: the same signed-cookie sessions, CSRF and form helpers
(service/admin/web.py, realm "portal": its own cookie on /portal, its own key), for client logins.
Every page works on the signed-in client's own data: ``Client.client_id`` is the tenant, and a
lookup of another tenant's object is a 404, as in the API.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from domain.models.user import CLIENT_ROLES, Role
from domain.services import users
from service.admin.web import (
    PASSWORD_CHANGE_PATHS as ADMIN_PASSWORD_PATHS,
)
from service.admin.web import (
    CsrfForm,
    LoginRequired,
    PasswordChangeRequired,
    attempt,
    blank_to_none,
    csrf_token,
    make_templates,
    read_session,
    redirect,
    render_with,
    validate_form,
)
from service.auth import Principal, role_gate
from service.db import SessionDep

HERE = Path(__file__).parent
ADMIN_TEMPLATES = HERE.parent / "admin" / "templates"
# the portal's own templates first (portal/…); the admin's macros and partials after them
templates = make_templates(HERE / "templates", ADMIN_TEMPLATES)

# a temporary password (set by the client's admin) is changed before anything else
PASSWORD_CHANGE_PATHS = frozenset(p.replace("/admin", "/portal", 1) for p in ADMIN_PASSWORD_PATHS)


async def current_client(request: Request, session: SessionDep) -> Principal:
    """The signed-in client login (client_admin or client_viewer); anyone else signs in again."""
    data = read_session(request)
    if data is None:
        raise LoginRequired()
    try:
        user_id = uuid.UUID(str(data["u"]))
    except (KeyError, ValueError) as exc:
        raise LoginRequired() from exc
    # one primary-key lookup: a disabled account, a new password or a logout ends the session
    user = await users.active_user(session, user_id)
    if user is None or user.role not in CLIENT_ROLES or user.client_id is None or data.get("v") != user.token_version:
        raise LoginRequired()
    request.state.admin_session = data  # the CSRF token is bound to this session
    request.state.password_change = user.password_change
    if user.password_change == "required" and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired()
    principal = Principal(user.id, user.role, user.client_id, user.email, "user", user.token_version)
    request.state.principal = principal
    return principal


Client = Annotated[Principal, Depends(current_client)]  # client_admin or client_viewer
ClientAdmin = Annotated[Principal, role_gate(current_client, (Role.CLIENT_ADMIN,), "page")]


def tenant(principal: Principal) -> uuid.UUID:
    """The signed-in client's id (a portal principal always has one)."""
    assert principal.client_id is not None
    return principal.client_id


def portal_nav() -> list[tuple[str, str, str]]:
    """(label, path, who) of the portal's navigation; who is "all" or "admin" (client_admin only)."""
    return [
        ("Overview", "/portal/", "all"),
        # --- portal: leases, seats and agents ---
        ("Leases", "/portal/leases", "all"),
        ("Seats", "/portal/seats", "all"),
        ("Agents", "/portal/teams", "all"),
        ("Book seats", "/portal/book", "admin"),
        # --- portal: invoices, statements, users and keys ---
        ("Invoices", "/portal/invoices", "all"),
        ("Credit notes", "/portal/credit-notes", "all"),
        ("Payments", "/portal/payments", "all"),
        ("Statements", "/portal/statements", "all"),
        ("Users", "/portal/users", "admin"),
        ("API credentials", "/portal/api-credentials", "admin"),
        ("My account", "/portal/account", "all"),
        # --- end portal: invoices, statements, users and keys ---
        # --- portal: identity provider (SCIM) ---
        ("Identity provider", "/portal/identity-provider", "all"),
        # --- portal: webhooks ---
        ("Webhooks", "/portal/webhooks", "admin"),
        # --- portal: tickets (issue 15) ---
        ("Tickets", "/portal/tickets", "all"),
    ]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    ctx = {
        "request": request,
        "user": principal,
        "csrf_token": csrf_token(request),
        "is_client_admin": principal is not None and principal.role == Role.CLIENT_ADMIN,
        "is_htmx": request.headers.get("HX-Request") == "true",
        "nav": portal_nav(),
        "client_name": getattr(request.state, "client_name", None),
        "password_change": getattr(request.state, "password_change", None),
        **(context or {}),
    }
    return render_with(templates, request, template, ctx, status_code, headers)


__all__ = [
    "Client",
    "ClientAdmin",
    "CsrfForm",
    "attempt",
    "blank_to_none",
    "portal_nav",
    "redirect",
    "render",
    "tenant",
    "validate_form",
]
