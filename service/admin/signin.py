"""Signing in with a password form, for the admin (staff) and the client portal (client logins).

One use-case behind both: the API's password grant (throttled per account and per address, no
connection held while hashing). Each realm admits only its own roles and says where the others go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from domain.errors import Unauthorized
from domain.services import users
from service.admin.web import SESSION_TTL_SECONDS, pre_cookie, realm, session_cookie, set_cookie, sign_session
from service.auth import Principal, authenticate

logger = logging.getLogger("seatlease.admin")


@dataclass
class SignIn:
    email: str
    next: str
    principal: Principal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 401
    headers: dict[str, str] | None = None


def safe_next(request: Request, value: str | None) -> str:
    """Only a path inside this realm: never an open redirect."""
    home = "/" + realm(request)
    if value and value.startswith(home) and not value.startswith("//") and "\\" not in value:
        return value
    return home + "/"


async def sign_in(request: Request, form: dict[str, Any], roles: tuple[str, ...], elsewhere: str) -> SignIn:
    """Check the form's email and password; a login of another realm's role is refused with
    ``elsewhere`` (where it signs in instead)."""
    attempt = SignIn(
        email=str(form.get("email") or "").strip().lower()[:320], next=safe_next(request, str(form.get("next") or ""))
    )
    password = str(form.get("password") or "")[:200]
    if not attempt.email:
        attempt.errors["email"] = "enter your email"
    if not password:
        attempt.errors["password"] = "enter your password"
    if attempt.errors:
        return attempt
    try:
        principal = await authenticate(request, "user", attempt.email, password)
    except users.TooManyAttempts as exc:
        attempt.errors["__all__"] = f"Too many failed attempts. Try again in {exc.retry_after // 60 + 1} minutes."
        attempt.status, attempt.headers = 429, {"Retry-After": str(exc.retry_after)}
        principal = None
    except Unauthorized:
        attempt.errors["__all__"] = "Wrong email or password."
        principal = None
    if principal is not None and principal.role not in roles:
        attempt.errors["__all__"] = elsewhere
        principal = None
    attempt.principal = principal
    if principal is None:
        logger.info("%s sign-in refused for %s", realm(request), attempt.email or "(blank)")
    return attempt


def start_session(request: Request, principal: Principal, to: str) -> Response:
    """Signed in: the realm's session cookie, and the pre-session CSRF cookie is spent."""
    response = RedirectResponse(to, status_code=303)
    set_cookie(
        request,
        response,
        session_cookie(request),
        sign_session(request, principal.subject, principal.token_version),
        SESSION_TTL_SECONDS,
    )
    response.delete_cookie(pre_cookie(request), path="/" + realm(request))
    return response


def end_session(request: Request, to: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    response.delete_cookie(session_cookie(request), path="/" + realm(request))
    return response
