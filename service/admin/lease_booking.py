"""Booking a lease from the admin: the form, its price preview, and the booking itself.

The form becomes the API's own LeaseCreate and goes to the same use-case the API calls
(domain/leasing/booking.py); the choices and the preview's checks are the aggregate's read-models."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing.quote import price_preview
from domain.errors import DomainError
from domain.leasing import booking, floor_map, queries
from domain.leasing.schemas import LeaseCreate
from domain.models import (
    Lease,
    Team,
)
from domain.services import catalog
from service.admin import proposals as admin_proposals
from service.admin.seatmap import load_floor_map, render_svg, site_floors, site_shifts
from service.admin.web import CsrfForm, Ops, attempt, blank_to_none, redirect, render, validate_form
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()

# a domain error's field, as the form names it
FORM_FIELD = {"seat_ids": "seat_labels", "client_id": "team_id", "add_ons": "add_ons", "effective": "effective"}
# --- terms (issue 11): the lease page's dated seat price form
FORM_FIELD |= {"effective_date": "step_date", "monthly_price_minor": "step_price", "escalation_pct": "escalation_pct"}


async def form_context(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Choices of the booking form for the chosen site, and the map to pick seats on."""
    sites = await floor_map.all_sites(session)
    site = next((x for x in sites if str(x.id) == values.get("site_id")), sites[0] if sites else None)
    ctx: dict[str, Any] = {
        "sites": sites,
        "site": site,
        "plans": [],
        "shifts": [],
        "inclusions": {},
        "floors": [],
        "teams": [],
        "svg": None,
    }
    ctx["teams"] = await queries.team_choices(session)
    if site is None:
        return ctx
    values["site_id"] = str(site.id)
    # each plan with its prices in force today (issue 11); the preview prices the start date
    plans = await catalog.plan_views(session, await queries.site_plans(session, site.id))
    ctx["plans"] = plans
    ctx["inclusions"] = {str(p.id): [i for i in p.inclusions if i.billing != "included"] for p in plans}
    ctx["included"] = {str(p.id): [i for i in p.inclusions if i.billing == "included"] for p in plans}
    ctx["shifts"] = await site_shifts(session, site.id)
    floors = await site_floors(session, site.id)
    ctx["floors"] = floors
    if floors:
        floor = next((f for f in floors if str(f.id) == values.get("floor_id")), floors[0])
        values["floor_id"] = str(floor.id)
        try:
            day = date.fromisoformat(str(values.get("start_date") or ""))
        except ValueError:
            day = catalog.site_today(site)
        shift = next((x for x in ctx["shifts"] if x.code == values.get("shift")), None)
        fm = await load_floor_map(session, site, floor, day, shift)
        ctx["svg"] = render_svg(fm, picked=set(split_labels(str(values.get("seat_labels") or ""))))
        ctx["map_day"], ctx["map_shift"] = day, shift.code if shift else ""
    return ctx


def split_labels(text: str) -> list[str]:
    return [x for x in re.split(r"[\s,;]+", text.strip()) if x]


async def _seat_choice(session: AsyncSession, values: dict[str, Any], data: dict[str, Any], errors: dict[str, str]) -> None:
    """Seats picked on the map (labels become ids) or a number of seats placed together."""
    if values.get("seat_mode") != "pick":
        data["seat_count"] = values.get("seat_count") or None
        if data["seat_count"] is None:
            errors["seat_count"] = "how many seats?"
        return
    labels = split_labels(str(values.get("seat_labels") or ""))
    if not labels:
        errors["seat_labels"] = "pick seats on the map or type their labels"
        return
    if not data["site_id"]:
        return
    try:
        site_uuid = uuid.UUID(str(data["site_id"]))
    except ValueError:
        return
    found = await queries.seat_ids_by_label(session, site_uuid, labels)
    missing = [x for x in labels if x not in found]
    if missing:
        errors["seat_labels"] = f"no seat {missing[0]} on this site"
    data["seat_ids"] = [str(found[x]) for x in labels if x in found] or None


async def build_request(session: AsyncSession, values: dict[str, Any]) -> tuple[LeaseCreate | None, dict[str, str]]:
    """The form, turned into the API's LeaseCreate: labels become seat ids, the team names the client."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = blank_to_none(
        {k: values.get(k) for k in ("site_id", "team_id", "plan_id", "shift", "start_date", "end_date")},
        "site_id",
        "team_id",
        "plan_id",
        "shift",
        "start_date",
        "end_date",
    )
    team = None
    if data["team_id"]:
        try:
            team = await session.get(Team, uuid.UUID(str(data["team_id"])))
        except ValueError:
            team = None
    if team is None:
        errors["team_id"] = "choose the client's team"
    else:
        data["client_id"] = str(team.client_id)
    await _seat_choice(session, values, data, errors)
    add_ons = []
    prefix = f"addon.{data['plan_id']}."
    for key, qty in values.items():
        if key.startswith(prefix) and str(qty).strip() not in ("", "0"):
            # --- console (issue 13): a bad quantity is said on its own row, the others kept ---
            text = str(qty).strip()
            if not text.isdigit() or int(text) > 10_000:
                errors[key] = "a whole number of units, 0 to 10000"
                continue
            add_ons.append({"code": key.removeprefix(prefix), "quantity": text})
    data["add_ons"] = add_ons
    data["discount_pct"] = str(values.get("discount_pct") or "0").strip() or "0"
    # --- terms (issue 11): left empty, the plan's notice period and no escalation
    for term in ("notice_days", "escalation_pct"):
        if str(values.get(term) or "").strip():
            data[term] = str(values[term]).strip()
    body, schema_errors = validate_form(LeaseCreate, {k: v for k, v in data.items() if v is not None or k == "end_date"})
    for k, v in schema_errors.items():
        errors.setdefault(FORM_FIELD.get(k, k), v)
    return (body if not errors else None), errors


async def preview(session: AsyncSession, body: LeaseCreate, threshold: Decimal) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """What the booking would cost and whether the seats are free now; writes nothing."""
    try:
        p = await queries.preview_booking(session, body)
    except DomainError as exc:
        field = exc.field or "__all__"
        return None, {FORM_FIELD.get(field, field): exc.detail}
    quote = price_preview(p, body)
    free, seats = p.free, p.seats
    return {
        "quote": quote,
        "free": free,
        "seats": seats,
        "needs_approval": body.discount_pct > threshold,
        "threshold": threshold,
    }, {}


@router.get("/leases/new", response_class=HTMLResponse)
async def new_lease(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    values: dict[str, Any] = {k: v for k, v in request.query_params.items() if len(v) < 5000}
    values.setdefault("seat_mode", "pick" if values.get("seat_labels") else "count")
    values.setdefault("shift", "DAY")
    ctx = await form_context(session, values)
    values.setdefault("start_date", catalog.site_today(ctx["site"]).isoformat() if ctx["site"] else "")
    return render(request, "lease_new.html", {"v": values, "errors": {}, **ctx})


@router.post("/leases/new", response_model=None)
async def submit_lease(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v) for k, v in form.items()}
    action = values.pop("action", "preview")
    threshold = request.app.state.settings.discount_approval_threshold_pct
    body, errors = await build_request(session, values)
    result = None
    if body is not None:
        result, errors = await preview(session, body, threshold)
    # --- proposals and holds: the previewed lease sent as a proposal, its seats held ---
    if body is not None and not errors and action == "propose":
        proposal, errors = await admin_proposals.propose(session, user, body, values, request.app.state.settings.proposal_hold)
        if proposal is not None:
            return redirect(request, f"/admin/leases/{proposal.id}", "Proposal created: its seats are held")
    if body is not None and not errors and action == "confirm":
        lease, error = await attempt(session, lambda: _create(session, user, body, threshold))
        if error is None:
            return redirect(request, f"/admin/leases/{lease.id}", "Lease booked")
        errors = {FORM_FIELD.get(error.field or "", error.field or "__all__"): error.detail}
        result = None
    ctx = await form_context(session, values)
    values.setdefault("proposal_expires_on", _default_expiry(ctx, request))
    return render(
        request, "lease_new.html", {"v": values, "errors": errors, "preview": result, **ctx}, status_code=422 if errors else 200
    )


def _default_expiry(ctx: dict[str, Any], request: Request) -> str:
    return admin_proposals.default_expiry_day(ctx.get("site"), request.app.state.settings.proposal_hold)


async def _create(session: AsyncSession, user: Principal, body: LeaseCreate, threshold: Decimal) -> Lease:
    """The API's use-case with the API's model: the admin books as staff."""
    return await booking.create_lease(session, user, body, is_staff=True, discount_threshold_pct=threshold)
