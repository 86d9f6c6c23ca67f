"""The client portal's leases (issue 14): the list by site and shift, a lease's page with its seats on
the floor map (another tenant's seats only "taken"), who sits where, its credentials, and the
client's own actions on it -- the same use-cases as the API (domain/leasing/*), as a client
(``is_staff=False``: the same refusals, shown next to their field). Viewers read; client admins act.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from billing import proposal_doc
from billing.quote import QuoteOut
from domain.errors import DomainError, NotFound
from domain.leasing import availability, client_views, holds, notice, proposals, queries, state
from domain.leasing.floor_map import load_floor_map, tenant_view
from domain.models import Lease, Plan, Team
from domain.services import catalog
from domain.services import charges as charges_svc
from domain.services.charges import ClientLimits
from provisioning import client_credentials
from service.admin.seatmap import render_svg
from service.auth import Principal
from service.db import SessionDep
from service.portal.web import Client, render, tenant

router = APIRouter()  # included in the portal's router, under /portal

LIVE = ("pending_approval", "confirmed", "active")


def renewal_window(request: Request) -> int:
    return int(request.app.state.settings.renewal_window_days)


def client_limits(request: Request) -> ClientLimits:
    """What a client's own requests may do (its seat cap, the cancellation fee), from the settings."""
    st = request.app.state.settings
    return ClientLimits(
        seat_cap_default=st.client_seat_cap_default,
        cancellation_fee_window_days=st.cancellation_fee_window_days,
        cancellation_fee_months=st.cancellation_fee_months,
    )


async def own_lease(session: AsyncSession, user: Principal, lease_id: uuid.UUID, *, for_update: bool = False) -> Lease:
    """Under the tenant filter first: another client's lease does not exist (404)."""
    lease = await state.get_lease(session, lease_id, for_update=for_update)
    user.require_client(lease.client_id, "lease")
    return lease


@router.get("/leases", response_class=HTMLResponse)
async def lease_list(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    rows = await client_views.client_lease_rows(session, tenant(user))
    return render(
        request,
        "portal/leases.html",
        {
            "groups": client_views.by_site_and_shift(rows),
            "proposals": await client_views.client_proposals(session, tenant(user)),
            "flash": request.query_params.get("flash"),
        },
    )


async def lease_context(request: Request, session: AsyncSession, user: Principal, lease: Lease) -> dict[str, Any]:
    detail = await queries.lease_detail(session, lease, renewal_window_days=renewal_window(request))
    view = detail.view
    site = await catalog.get_site(session, lease.site_id)
    today = catalog.site_today(site)
    day = lease.start_date if today < lease.start_date else (min(today, lease.end_date) if lease.end_date else today)
    shift = await catalog.get_shift(session, site.id, lease.shift_code)
    labels = await queries.member_labels(session, detail.members)
    agents = {seat_id: labels.get(member_id, "an agent") for seat_id, member_id in detail.assignments.items()}
    seat_ids = {x.id for x in view.seats}
    maps = []
    for floor in detail.floors:
        fm = tenant_view(await load_floor_map(session, site, floor, day, shift), tenant(user))
        svg = render_svg(fm, highlight=seat_ids, titles=lambda s: client_views.seat_title(s, agents, lease.id))
        maps.append({"floor": floor, "svg": svg, "counts": fm.counts()})
    first_day = max(today, lease.start_date)
    free: list[Any] = []
    if lease.status in LIVE and (lease.end_date is None or lease.end_date >= first_day):
        window = catalog.shift_window(shift)
        free = await availability.free_seats(session, site.id, window, first_day, lease.end_date, limit=300)
    return {
        "lease": lease,
        "view": view,
        "site": site,
        "team": await session.get(Team, lease.team_id),
        "plan": await session.get(Plan, lease.plan_id),
        "today": today,
        "first_day": first_day,
        "map_day": day,
        "maps": maps,
        "assignments": detail.assignments,
        "members": detail.members,
        "member_labels": labels,
        "amendments": detail.amendments,
        "credentials": await client_credentials.lease_credentials(session, tenant(user), lease.id),
        "credentials_url": f"/portal/leases/{lease.id}/credentials",
        "expect_credentials": expect_credentials(request, lease, bool(detail.assignments)),
        "charges": await charges_svc.lease_charges(session, lease.id),
        "earliest_notice_end": notice.earliest_notice_end(lease, today),
        "free_seats": free,
        "proposal_state": proposals.proposal_state(lease) if lease.proposed_at is not None else None,
        "held_until": (
            await holds.pending_hold_ends(session, lease.id, request.app.state.settings.pending_hold)
            if lease.status == "pending_approval"
            else None
        ),
        "live": lease.status in LIVE,
    }


async def lease_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    lease_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    lease = await own_lease(session, user, lease_id)
    ctx = await lease_context(request, session, user, lease)
    if lease.status == "proposed":
        ctx["price"] = await proposal_price(request, session, lease)
    return render(
        request,
        "portal/lease.html",
        {**ctx, "errors": errors or {}, "v": values or {}, "flash": request.query_params.get("flash"), **(extra or {})},
        status_code=status_code,
    )


async def proposal_price(request: Request, session: AsyncSession, lease: Lease) -> QuoteOut:
    """A proposal's price as the API answers it (billing/proposal_doc.py)."""
    view = (await proposals.proposal_views(session, [lease]))[0]
    threshold = request.app.state.settings.discount_approval_threshold_pct
    return (await proposal_doc.priced(session, view, lease, discount_threshold_pct=threshold)).price


@router.get("/leases/{lease_id}", response_class=HTMLResponse)
async def lease_detail(request: Request, lease_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    return await lease_page(request, session, user, lease_id)


@router.get("/leases/{lease_id}/credentials", response_class=HTMLResponse)
async def lease_credentials(request: Request, lease_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    """The lease page's credentials card alone (it refreshes itself while one is being granted)."""
    lease = await own_lease(session, user, lease_id)
    credentials = await client_credentials.lease_credentials(session, tenant(user), lease.id)
    url = f"/portal/leases/{lease.id}/credentials"
    seated = bool(await queries.lease_assignments(session, lease.id))
    ctx = {"credentials": credentials, "credentials_url": url, "expect_credentials": expect_credentials(request, lease, seated)}
    return render(request, "portal/_credentials.html", ctx)


def expect_credentials(request: Request, lease: Lease, seated: bool) -> bool:
    """An active lease with agents seated gets credentials as soon as the worker derives them (when any
    target is configured): until then the card keeps asking."""
    return lease.status == "active" and seated and bool(request.app.state.settings.provisioning().enabled_kinds)


def refusal(error: DomainError, fields: dict[str, str], default: str) -> dict[str, str]:
    """A use-case's refusal as the form's errors: next to the field it names (in the form's own
    name for it), else at the form's ``default``. Another tenant's object stays a 404 page."""
    if isinstance(error, NotFound):
        raise error
    field = error.field or ""
    return {fields.get(field, field if field in fields.values() else default): error.detail}


def parse_day(value: Any, name: str, errors: dict[str, str]) -> date | None:
    text = str(value or "").strip()
    if not text:
        errors[name] = "give a date"
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "not a date (YYYY-MM-DD)"
        return None


__all__ = ["lease_page", "own_lease", "parse_day", "refusal", "router"]
