"""What every admin page shares: templates, the signed session cookie, CSRF, role guards, forms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, Forbidden
from domain.models.user import STAFF_ROLES
from domain.rules.money import format_money
from domain.services import users
from service.auth import Principal, role_gate
from service.db import SessionDep

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
COOKIE = "sl_admin"
PRE_COOKIE = "sl_admin_pre"
SESSION_TTL_SECONDS = 12 * 3600  # one working shift and a bit
OPS_ROLES = ("admin", "facility_staff")
FINANCE_ROLES = ("admin", "finance")


def make_templates(*directories: Path) -> Jinja2Templates:
    """A template set with the helpers every page uses (the admin's, and the client portal's,
    which also finds the admin's macros and partials on its path)."""
    tpl = Jinja2Templates(directory=[str(d) for d in directories])
    tpl.env.globals["money"] = lambda amount, currency: format_money(int(amount or 0), currency)
    tpl.env.filters["kpi"] = kpi
    tpl.env.filters["kpi_label"] = kpi_label
    tpl.env.globals["vendor"] = lambda name: (STATIC_DIR / "vendor" / name).is_file()
    tpl.env.globals["at_site"] = at_site
    return tpl


def at_site(at: datetime | None, zone: str | None) -> str:
    """An instant on a site's wall clock, named by its zone ("2026-12-01 08:25 Asia/Manila")."""
    if at is None:
        return "—"
    if not zone:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + zone


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def kpi(value: Any) -> str:
    """A KPI figure as people read it: durations of percentiles, plain counts."""
    if isinstance(value, dict):
        if "p50_seconds" in value:
            n = value.get("count", 0)
            if not n:
                return "no data yet"
            return (
                f"median {duration(value.get('p50_seconds'))} · p99 {duration(value.get('p99_seconds'))}"
                f" · max {duration(value.get('max_seconds'))} (n={n})"
            )
        return ", ".join(f"{k.replace('_', ' ')} {kpi(v)}" for k, v in value.items())
    if value is None:
        return "—"
    return str(value)


def kpi_label(key: str) -> str:
    """A KPI's name as people read it: words, and acronyms as acronyms."""
    return " ".join({"scim": "SCIM", "kpi": "KPI"}.get(w, w) for w in key.split("_"))


templates = make_templates(HERE / "templates")


class LoginRequired(Exception):
    """No valid admin session: the handler sends the browser to the login page."""


# --- people and keys (issue 13) ---
class PasswordChangeRequired(Exception):
    """A temporary password: the handler sends the browser to My account to change it."""


PASSWORD_CHANGE_PATHS = frozenset({"/admin/account", "/admin/account/password", "/admin/logout"})
ADMIN_ROLES = ("admin",)


# ---- the session cookie: base64(json).hmac, keyed from the server secret -------------------
# Two realms share this code: the admin (/admin, staff) and the client portal (/portal, client
# logins). Each has its own cookie on its own path and its own key, so neither opens the other.

PORTAL_COOKIE = "sl_portal"
PORTAL_PRE_COOKIE = "sl_portal_pre"


def realm(request: Request) -> str:
    path = request.url.path
    return "portal" if path == "/portal" or path.startswith("/portal/") else "admin"


def session_cookie(request: Request) -> str:
    return PORTAL_COOKIE if realm(request) == "portal" else COOKIE


def pre_cookie(request: Request) -> str:
    return PORTAL_PRE_COOKIE if realm(request) == "portal" else PRE_COOKIE


def _key(request: Request) -> bytes:
    secret: str = request.app.state.settings.secret_key
    return hashlib.sha256(f"seatlease-{realm(request)}-session".encode() + b"\x00" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(request: Request, message: str) -> str:
    return _b64(hmac.new(_key(request), message.encode(), hashlib.sha256).digest())


def sign_session(request: Request, user_id: uuid.UUID, token_version: int) -> str:
    """The cookie's payload: who, the account's token version (bumped to end the session), a nonce."""
    payload = _b64(
        json.dumps(
            {"u": str(user_id), "v": token_version, "n": secrets.token_urlsafe(16), "exp": int(time.time()) + SESSION_TTL_SECONDS}
        ).encode()
    )
    return f"{payload}.{_mac(request, 'session:' + payload)}"


def read_session(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(session_cookie(request))
    if not raw or raw.count(".") != 1:
        return None
    payload, mac = raw.split(".")
    if not hmac.compare_digest(mac, _mac(request, "session:" + payload)):
        return None
    try:
        data: dict[str, Any] = json.loads(_unb64(payload))
    except ValueError:
        return None
    if int(data.get("exp", 0)) < time.time():
        return None
    return data


def cookie_secure(request: Request) -> bool:
    return bool(request.app.state.settings.cookie_secure) or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=cookie_secure(request), path="/" + realm(request)
    )


# ---- CSRF: a token bound to the session (or, before login, to a random pre-session cookie) --


def csrf_token(request: Request) -> str:
    session = getattr(request.state, "admin_session", None) or read_session(request)
    if session is not None:
        return _mac(request, "csrf:" + str(session["n"]))
    nonce = getattr(request.state, "pre_nonce", None) or request.cookies.get(pre_cookie(request))
    if not nonce:
        nonce = secrets.token_urlsafe(16)
        request.state.pre_nonce_new = nonce
    request.state.pre_nonce = nonce
    return _mac(request, "csrf-pre:" + nonce)


async def check_csrf(request: Request) -> dict[str, Any]:
    """The form of a state-changing request, after its CSRF token checks out (403 otherwise)."""
    form = dict(await request.form())
    sent = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token") or "")
    session = getattr(request.state, "admin_session", None) or read_session(request)
    if session is not None:
        expected = _mac(request, "csrf:" + str(session["n"]))
    else:
        nonce = request.cookies.get(pre_cookie(request), "")
        expected = _mac(request, "csrf-pre:" + nonce) if nonce else ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form expired or did not come from this site; reload the page and try again")
    return {k: v for k, v in form.items() if k != "csrf_token"}


CsrfForm = Annotated[dict[str, Any], Depends(check_csrf)]


# ---- security headers on every /admin and /portal answer -------------------------------------------------

# Scripts and styles come only from /admin/static (htmx, Pico, admin.js/css): no inline script,
# no eval. Inline style attributes stay allowed (style-src-attr) for server-computed positions.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class AdminSecurityHeaders:
    """ASGI middleware: CSP, no framing, no sniffing, same-origin referrers on every /admin answer,
    and HSTS when served over TLS (the request's scheme is https, or cookies are marked secure)."""

    def __init__(self, app: Any, *, cookie_secure: Callable[[], bool]) -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not any(path == p or path.startswith(p + "/") for p in ("/admin", "/portal")):
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https" or self.cookie_secure()

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SECURITY_NAMES]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if tls:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_SECURITY_NAMES = {
    b"content-security-policy",
    b"x-frame-options",
    b"x-content-type-options",
    b"referrer-policy",
    b"strict-transport-security",
}


# ---- who is signed in, and what they may do -------------------------------------------------


async def current_staff(request: Request, session: SessionDep) -> Principal:
    data = read_session(request)
    if data is None:
        raise LoginRequired()
    try:
        user_id = uuid.UUID(str(data["u"]))
    except (KeyError, ValueError) as exc:
        raise LoginRequired() from exc
    # one primary-key lookup: a disabled account, a new password or a logout ends the session
    user = await users.active_user(session, user_id)
    if user is None or user.role not in STAFF_ROLES or data.get("v") != user.token_version:
        raise LoginRequired()
    request.state.admin_session = data
    # --- people and keys (issue 13): a temporary password is changed before anything else ---
    request.state.password_change = user.password_change
    if user.password_change == "required" and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired()
    principal = Principal(user.id, user.role, None, user.email, "user", user.token_version)
    request.state.principal = principal
    return principal


def require(*roles: str) -> Any:
    return role_gate(current_staff, roles, "page")


Staff = Annotated[Principal, Depends(current_staff)]  # admin, facility_staff, finance
Ops = Annotated[Principal, require(*OPS_ROLES)]
Finance = Annotated[Principal, require(*FINANCE_ROLES)]
AdminOnly = Annotated[Principal, require(*ADMIN_ROLES)]  # people and keys (issue 13)


def can(principal: Principal | None, what: str) -> bool:
    if principal is None:
        return False
    return principal.role in {"ops": OPS_ROLES, "finance": FINANCE_ROLES}[what]


# ---- rendering -----------------------------------------------------------------------------


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
        "can_ops": can(principal, "ops"),
        "can_finance": can(principal, "finance"),
        "is_htmx": request.headers.get("HX-Request") == "true",
        "nav": nav_items(),
        "password_change": getattr(request.state, "password_change", None),  # people and keys (issue 13)
        **(context or {}),
    }
    return render_with(templates, request, template, ctx, status_code, headers)


def render_with(
    tpl: Jinja2Templates,
    request: Request,
    template: str,
    ctx: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render, and hand out the pre-session CSRF cookie the page's forms were signed with."""
    response = tpl.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    new_nonce = getattr(request.state, "pre_nonce_new", None)
    if new_nonce:
        set_cookie(request, response, pre_cookie(request), new_nonce, 3600)
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """After a successful POST: see-other for a plain form, HX-Redirect for htmx."""
    if flash:
        url += ("&" if "?" in url else "?") + "flash=" + _quote(flash)
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def nav_items() -> list[tuple[str, str, str]]:
    """(label, path, who) of the side navigation."""
    return [
        ("Dashboard", "/admin/", "all"),
        ("Seat map", "/admin/map", "all"),
        ("Leases", "/admin/leases", "all"),
        ("Clients", "/admin/clients", "all"),
        ("Plans", "/admin/plans", "all"),
        ("Devices", "/admin/devices", "ops"),
        ("Provisioning", "/admin/provisioning", "ops"),
        ("Integrations", "/admin/integrations", "ops"),  # --- integrations (issue 13) ---
        ("Billing", "/admin/billing", "finance"),
        ("Collections", "/admin/collections", "finance"),  # --- collections (issue 12) ---
        # --- revenue reports (issue 12) ---
        ("Reports", "/admin/reports", "finance"),
        # --- set-up pages (issue 13) ---
        ("Sites", "/admin/sites", "ops"),
        # --- people and keys (issue 13): logins and API credentials are the admin's; everyone has My account ---
        ("Users", "/admin/users", "admin"),
        ("API credentials", "/admin/api-credentials", "admin"),
        ("My account", "/admin/account", "all"),
        # --- console (issue 13): the audit log, admin only ---
        ("Audit", "/admin/audit", "admin"),
        # --- webhooks (issue 14): admin only ---
        ("Webhooks", "/admin/webhooks", "admin"),
        # --- help desk staff side (issue 15): the queue staff work from ---
        ("Help desk", "/admin/tickets", "ops"),
        # --- help desk KPIs (issue 15): every staff role ---
        ("Help desk KPIs", "/admin/helpdesk/kpis", "all"),
    ]


# ---- forms ---------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)

# messages of model-level validators, and the field they are about
_MODEL_ERRORS = {
    "seat_count or seat_ids": "seat_count",
    "end_date is before": "end_date",
    "seat_ids must be unique": "seat_labels",
}


def validate_form(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The API's own schema checks the form: the same rules, errors keyed by field."""
    try:
        # form fields are text: parse them into the API's strict types (an API body must send 3, not "3")
        return model.model_validate(data, strict=False), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            name = loc[0] if loc else next((f for k, f in _MODEL_ERRORS.items() if k in msg), "__all__")
            errors.setdefault(name, msg)
        return None, errors


async def attempt(session: AsyncSession, work: Callable[[], Awaitable[Any]]) -> tuple[Any, DomainError | None]:
    """Run a service call in a savepoint: on a domain error nothing it wrote stays, and the page
    shows the error next to its field instead of an error page."""
    try:
        async with session.begin_nested():
            return await work(), None
    except DomainError as exc:
        return None, exc


def optional_uuid(value: str | None) -> uuid.UUID | None:
    """A form's or query's id, or None when blank or not an id (the page then simply finds nothing)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    out = dict(data)
    for n in names:
        if isinstance(out.get(n), str) and not out[n].strip():
            out[n] = None
    return out
