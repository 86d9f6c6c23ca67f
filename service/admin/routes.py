"""The admin frontend under /admin: server-rendered pages over the same services as the API."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError, Unauthorized
from domain.models import User
from domain.models.user import STAFF_ROLES
from domain.services import users
from service.admin import account as admin_account  # --- people and keys (issue 13) ---
from service.admin import (
    audit,
    collections,
    dashboard,
    devices,
    documents,
    finance,
    floor_editor,
    integrations,
    invoice_drafts,
    invoices,
    lease_changes,
    lease_renewal,
    leases,
    payments,
    people,
    plan_setup,
    proposal_mail,
    provisioning,
    revenue,
    seatmap,
    site_floors,
    sites,
    terms,
)
from service.admin import keys as admin_keys
from service.admin import users as admin_users
from service.admin import webhooks as admin_webhooks  # --- webhooks (issue 14) ---
from service.admin.web import (
    COOKIE,
    PRE_COOKIE,
    SESSION_TTL_SECONDS,
    STATIC_DIR,
    AdminSecurityHeaders,
    CsrfForm,
    LoginRequired,
    PasswordChangeRequired,
    Staff,
    read_session,
    render,
    set_cookie,
    sign_session,
)
from service.auth import authenticate
from service.db import SessionDep

logger = logging.getLogger("seatlease.admin")
router = APIRouter(prefix="/admin", include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path inside the admin: never an open redirect."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "errors": {}, "email": ""})


@router.post("/login", response_model=None)
async def login(request: Request, form: CsrfForm) -> Response:
    """The same use-case as the API's password grant (throttled, no connection held while hashing)."""
    email = str(form.get("email") or "").strip().lower()[:320]
    password = str(form.get("password") or "")[:200]
    nxt = _safe_next(str(form.get("next") or ""))
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "enter your email"
    if not password:
        errors["password"] = "enter your password"
    principal = None
    status, headers = 401, None
    if not errors:
        try:
            principal = await authenticate(request, "user", email, password)
        except users.TooManyAttempts as exc:
            errors["__all__"] = f"Too many failed attempts. Try again in {exc.retry_after // 60 + 1} minutes."
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        except Unauthorized:
            errors["__all__"] = "Wrong email or password."
        if principal is not None and principal.role not in STAFF_ROLES:
            # client logins use the API; the admin is for the facility's own staff
            errors["__all__"] = "This account belongs to a client: the admin is for facility staff and finance."
            principal = None
    if principal is None:
        logger.info("admin login refused for %s", email or "(blank)")
        return render(request, "login.html", {"next": nxt, "errors": errors, "email": email}, status_code=status, headers=headers)
    response = RedirectResponse(nxt, status_code=303)
    set_cookie(request, response, COOKIE, sign_session(request, principal.subject, principal.token_version), SESSION_TTL_SECONDS)
    response.delete_cookie(PRE_COOKIE, path="/admin")
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request, user: Staff, session: SessionDep, form: CsrfForm) -> Response:
    """Sign out everywhere: this cookie, any copy of it, and the user's API tokens end at once."""
    await users.end_sessions(session, user, await session.get_one(User, user.subject))
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(COOKIE, path="/admin")
    return response


# --- drafts and one-off invoices (issue 12): before `invoices`, whose /invoices/{id} would take /invoices/new ---
router.include_router(invoice_drafts.router)
for module in (dashboard, seatmap, leases, lease_renewal, lease_changes, people, devices, provisioning, finance, invoices, terms):
    router.include_router(module.router)
# --- email: a proposal sent from the lease page ---
router.include_router(proposal_mail.router)
# --- payments (issue 12): record, void, credit, withholding ---
router.include_router(payments.router)
# --- documents: invoice and credit-note PDFs, a site's issuing entity (issue 12) ---
router.include_router(documents.router)
# --- collections (issue 12): overdue list, journal export, a client's reminders ---
router.include_router(collections.router)
# --- revenue reports (issue 12) ---
router.include_router(revenue.router)
# --- set-up pages (issue 13): sites, floors, zones, shifts; a plan's creation and inclusions ---
for setup_module in (sites, site_floors, plan_setup):
    router.include_router(setup_module.router)
# --- floor-plan editor (issue 13) ---
router.include_router(floor_editor.router)
# --- people and keys (issue 13): Users, API credentials, My account, the password-reset page ---
router.include_router(admin_users.router)
router.include_router(admin_keys.router)
router.include_router(admin_account.router)
# --- console (issue 13): the audit page ---
router.include_router(audit.router)
# --- integrations (issue 13): targets, the reconciler, mass-revocation guards ---
router.include_router(integrations.router)
# --- webhooks (issue 14): the facility's endpoints, every endpoint's delivery log ---
router.include_router(admin_webhooks.router)


# ---- errors: admin pages get HTML, never a stack trace; the API keeps problem+json ---------


def _is_admin(request: Request) -> bool:
    return request.url.path.startswith("/admin")


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse(
            f'<div class="flash error" role="alert">{_esc(title)}: {_esc(detail)}</div>',
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    try:
        return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status_code=status)
    except Exception:  # the error page itself must not fail
        logger.exception("admin error page failed")
        return HTMLResponse(f"<h1>{status} {_esc(title)}</h1>", status_code=status)


def _esc(text: str) -> str:
    from html import escape

    return escape(text)


def install_error_pages(app: FastAPI) -> None:
    handlers: dict[Any, Any] = dict(app.exception_handlers)

    def wrap(exc_type: Any, page: Any) -> None:
        original = handlers.get(exc_type)

        async def handler(request: Request, exc: Exception) -> Response:
            if _is_admin(request):
                return page(request, exc)
            if original is None:
                raise exc
            return await original(request, exc)  # type: ignore[no-any-return]

        app.add_exception_handler(exc_type, handler)

    def domain_page(request: Request, exc: DomainError) -> Response:
        return _error_page(request, exc.status, exc.title, exc.detail)

    def http_page(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return _error_page(
            request, exc.status_code, title, "there is no such page" if exc.status_code == 404 else str(exc.detail)
        )

    def validation_page(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
        return _error_page(request, 422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}")

    def unexpected_page(request: Request, exc: Exception) -> Response:
        logger.exception("admin: unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_page(request, 500, "Something went wrong", "the error has been logged; try again")

    wrap(DomainError, domain_page)
    wrap(StarletteHTTPException, http_page)
    wrap(RequestValidationError, validation_page)
    wrap(Exception, unexpected_page)

    async def login_required(request: Request, exc: Exception) -> Response:
        target = "/admin/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)
    # --- people and keys (issue 13): a temporary password leads to My account first ---
    app.add_exception_handler(PasswordChangeRequired, _password_change_required)


async def _password_change_required(request: Request, exc: Exception) -> Response:
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": "/admin/account"})
    return RedirectResponse("/admin/account", status_code=303)


def install(app: FastAPI) -> None:
    app.add_middleware(AdminSecurityHeaders, cookie_secure=lambda: bool(app.state.settings.cookie_secure))
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/admin/static", StaticFiles(directory=str(STATIC_DIR)), name="admin-static")
    app.include_router(router)
    install_error_pages(app)

    @app.get("/admin", include_in_schema=False)
    async def admin_root() -> RedirectResponse:
        return RedirectResponse("/admin/", status_code=307)


__all__ = ["install", "read_session"]
