"""The admin frontend under /admin: server-rendered pages over the same services as the API."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

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
from service.admin import device_desk as admin_device_desk  # --- help desk: devices and money (issue 15) ---
from service.admin import helpdesk as admin_helpdesk  # --- help desk staff side (issue 15) ---
from service.admin import helpdesk_kpis as admin_helpdesk_kpis  # --- help desk KPIs (issue 15) ---
from service.admin import keys as admin_keys
from service.admin import scim as admin_scim  # --- client SCIM (issue 14) ---
from service.admin import ticket_pages as admin_ticket_pages  # --- help desk staff side (issue 15) ---
from service.admin import users as admin_users
from service.admin import webhooks as admin_webhooks  # --- webhooks (issue 14) ---
from service.admin.error_pages import error_page_with, install_error_pages
from service.admin.signin import end_session, safe_next, sign_in, start_session
from service.admin.web import (
    STATIC_DIR,
    AdminSecurityHeaders,
    CsrfForm,
    Staff,
    read_session,
    render,
)
from service.db import SessionDep

logger = logging.getLogger("seatlease.admin")
router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return render(request, "login.html", {"next": safe_next(request, next), "errors": {}, "email": ""})


@router.post("/login", response_model=None)
async def login(request: Request, form: CsrfForm) -> Response:
    """The same use-case as the API's password grant (throttled, no connection held while hashing)."""
    attempt = await sign_in(request, form, STAFF_ROLES, "This account belongs to a client: client logins sign in at /portal.")
    if attempt.principal is None:
        context = {"next": attempt.next, "errors": attempt.errors, "email": attempt.email}
        return render(request, "login.html", context, status_code=attempt.status, headers=attempt.headers)
    return start_session(request, attempt.principal, attempt.next)


@router.post("/logout", response_model=None)
async def logout(request: Request, user: Staff, session: SessionDep, form: CsrfForm) -> Response:
    """Sign out everywhere: this cookie, any copy of it, and the user's API tokens end at once."""
    await users.end_sessions(session, user, await session.get_one(User, user.subject))
    return end_session(request, "/admin/login")


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
# --- client SCIM (issue 14): a client's SCIM token and deprovisions ---
router.include_router(admin_scim.router)
# --- webhooks (issue 14): the facility's endpoints, every endpoint's delivery log ---
router.include_router(admin_webhooks.router)
# --- help desk: devices and money (issue 15): device history, swaps, downtime credits ---
router.include_router(admin_device_desk.router)
# --- help desk staff side (issue 15): the queue, the ticket pages, the SLA targets ---
router.include_router(admin_helpdesk.router)
router.include_router(admin_ticket_pages.router)
# --- end help desk staff side ---
# --- help desk KPIs (issue 15): the KPIs page (its dashboard card is in dashboard.py) ---
router.include_router(admin_helpdesk_kpis.router)


def install(app: FastAPI) -> None:
    app.add_middleware(AdminSecurityHeaders, cookie_secure=lambda: bool(app.state.settings.cookie_secure))
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/admin/static", StaticFiles(directory=str(STATIC_DIR)), name="admin-static")
    app.include_router(router)
    install_error_pages(app, "/admin", error_page_with(render, "error.html"))

    @app.get("/admin", include_in_schema=False)
    async def admin_root() -> RedirectResponse:
        return RedirectResponse("/admin/", status_code=307)


__all__ = ["install", "read_session"]
