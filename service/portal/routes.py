"""The client portal under /portal: sign in, the overview, and each area's router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.leasing import client_views
from domain.models import User
from domain.models.user import CLIENT_ROLES
from domain.services import clients, users
from service.admin.error_pages import error_page_with, install_error_pages
from service.admin.signin import end_session, safe_next, sign_in, start_session
from service.db import SessionDep
from service.portal import account, finance, people  # --- portal: invoices, statements, users and keys ---
from service.portal import webhooks as portal_webhooks  # --- portal: webhooks ---
from service.portal.web import Client, CsrfForm, render, tenant

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return render(request, "portal/login.html", {"next": safe_next(request, next), "errors": {}, "email": ""})


@router.post("/login", response_model=None)
async def login(request: Request, form: CsrfForm) -> Response:
    """The same use-case as the API's password grant and the admin's sign-in (throttled)."""
    attempt = await sign_in(
        request, form, CLIENT_ROLES, "This is the client portal: facility staff and finance sign in at /admin."
    )
    if attempt.principal is None:
        context = {"next": attempt.next, "errors": attempt.errors, "email": attempt.email}
        return render(request, "portal/login.html", context, status_code=attempt.status, headers=attempt.headers)
    return start_session(request, attempt.principal, attempt.next)


@router.post("/logout", response_model=None)
async def logout(request: Request, user: Client, session: SessionDep, form: CsrfForm) -> Response:
    """Sign out everywhere: this cookie, any copy of it, and the login's API tokens end at once."""
    await users.end_sessions(session, user, await session.get_one(User, user.subject))
    return end_session(request, "/portal/login")


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    client = await clients.get_client(session, tenant(user))
    leases = await clients.client_leases(session, client.id, limit=20)
    ctx = {"client": client, "leases": leases}
    # --- portal: leases, seats and agents: the overview's cards of what is coming ---
    ctx["upcoming"] = await client_views.upcoming(session, client.id, request.app.state.settings.renewal_window_days)
    ctx |= await finance.overview_cards(session, client.id)  # --- portal: invoices, statements, users and keys ---
    return render(request, "portal/overview.html", ctx)


# ---- each area's pages (register your router in your own block) -----------------------------
# --- portal: leases, seats and agents ---
from service.portal import agents as portal_agents  # noqa: E402
from service.portal import booking as portal_booking  # noqa: E402
from service.portal import lease_actions as portal_lease_actions  # noqa: E402
from service.portal import leases as portal_leases  # noqa: E402
from service.portal import seats as portal_seats  # noqa: E402

for _area in (portal_leases, portal_lease_actions, portal_seats, portal_agents, portal_booking):
    router.include_router(_area.router)
# --- end portal: leases, seats and agents ---
# --- portal: invoices, statements, users and keys ---
router.include_router(finance.router)
router.include_router(people.router)
router.include_router(account.router)
# --- end portal: invoices, statements, users and keys ---
# --- portal: identity provider (SCIM) ---
# --- portal: webhooks ---
router.include_router(portal_webhooks.router)
# --- portal: tickets (issue 15) ---
from service.portal import tickets as portal_tickets  # noqa: E402

router.include_router(portal_tickets.router)
# --- end portal: tickets ---


def install(app: FastAPI) -> None:
    """After the admin's install: its security headers and static files serve the portal too."""
    app.include_router(router)
    # --- portal: identity provider (SCIM) ---
    from service.portal import scim as portal_scim

    app.include_router(portal_scim.router)
    install_error_pages(app, "/portal", error_page_with(render, "portal/error.html"))

    @app.get("/portal", include_in_schema=False)
    async def portal_root() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=307)
