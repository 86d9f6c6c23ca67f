"""Leases: the list, booking with a price preview, the detail page and its lifecycle actions.

Every change goes through the leasing aggregate's use-cases (domain/leasing/), the same functions
with the same input models the API uses; what the pages show comes from its read-models
(domain/leasing/queries.py, floor_map.py)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.leasing import booking, floor_map, lifecycle, queries, state
from domain.models import (
    Client,
    Lease,
    Plan,
    Team,
)
from domain.services import catalog
from service.admin.pricing import first_invoice
from service.admin.seatmap import load_floor_map, render_svg, site_floors, site_shifts
from service.admin.web import CsrfForm, Finance, Ops, Staff, attempt, blank_to_none, redirect, render, validate_form
from service.api import schemas as s
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()

STATUSES = ("pending_approval", "confirmed", "active", "ended", "cancelled")
# a domain error's field, as the form names it
FORM_FIELD = {"seat_ids": "seat_labels", "client_id": "team_id", "add_ons": "add_ons", "effective": "effective"}


# ---- list ----------------------------------------------------------------------------------


@router.get("/leases", response_class=HTMLResponse)
async def lease_list(
    request: Request,
    user: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    site_id: Annotated[str | None, Query(max_length=40)] = None,
    client_id: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    starts_from: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    f = queries.LeaseListFilter(
        status=status if status in STATUSES else None,
        site_id=_uuid(site_id, "site_id", errors) if site_id else None,
        client_id=_uuid(client_id, "client_id", errors) if client_id else None,
        client_name_contains=q or None,
        starts_from=_day(starts_from, "starts_from", errors) if starts_from else None,
    )
    rows = [] if errors else await queries.lease_list(session, f)
    sites = await floor_map.all_sites(session)
    clients = await queries.all_clients(session)
    return render(
        request,
        "leases.html",
        {
            "rows": rows,
            "sites": sites,
            "clients": clients,
            "statuses": STATUSES,
            "errors": errors,
            "f": {
                "status": status or "",
                "site_id": site_id or "",
                "client_id": client_id or "",
                "q": q or "",
                "starts_from": starts_from or "",
            },
            "flash": request.query_params.get("flash"),
        },
        status_code=422 if errors else 200,
    )


def _uuid(value: str, name: str, errors: dict[str, str]) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        errors[name] = "not a valid choice"
        return None


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "not a date (YYYY-MM-DD)"
        return None


# ---- booking -------------------------------------------------------------------------------


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
    plans = await queries.site_plans(session, site.id)
    ctx["plans"] = plans
    incs = await catalog.plan_inclusions(session, [p.id for p in plans])
    ctx["inclusions"] = {str(pid): [i for i in v if i.billing != "included"] for pid, v in incs.items()}
    ctx["included"] = {str(pid): [i for i in v if i.billing == "included"] for pid, v in incs.items()}
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


async def build_request(session: AsyncSession, values: dict[str, Any]) -> tuple[s.LeaseCreate | None, dict[str, str]]:
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
    if values.get("seat_mode") == "pick":
        labels = split_labels(str(values.get("seat_labels") or ""))
        if not labels:
            errors["seat_labels"] = "pick seats on the map or type their labels"
        elif data["site_id"]:
            try:
                site_uuid = uuid.UUID(str(data["site_id"]))
                found = await queries.seat_ids_by_label(session, site_uuid, labels)
                missing = [x for x in labels if x not in found]
                if missing:
                    errors["seat_labels"] = f"no seat {missing[0]} on this site"
                data["seat_ids"] = [str(found[x]) for x in labels if x in found] or None
            except ValueError:
                pass
    else:
        data["seat_count"] = values.get("seat_count") or None
        if data["seat_count"] is None:
            errors["seat_count"] = "how many seats?"
    add_ons = []
    prefix = f"addon.{data['plan_id']}."
    for key, qty in values.items():
        if key.startswith(prefix) and str(qty).strip() not in ("", "0"):
            add_ons.append({"code": key.removeprefix(prefix), "quantity": str(qty).strip()})
    data["add_ons"] = add_ons
    data["discount_pct"] = str(values.get("discount_pct") or "0").strip() or "0"
    body, schema_errors = validate_form(s.LeaseCreate, {k: v for k, v in data.items() if v is not None or k == "end_date"})
    for k, v in schema_errors.items():
        errors.setdefault(FORM_FIELD.get(k, k), v)
    return (body if not errors else None), errors


async def preview(session: AsyncSession, body: s.LeaseCreate, threshold: Decimal) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """What the booking would cost and whether the seats are free now; writes nothing."""
    try:
        p = await queries.preview_booking(session, body)
    except DomainError as exc:
        field = exc.field or "__all__"
        return None, {FORM_FIELD.get(field, field): exc.detail}
    quote = first_invoice(
        p.site,
        p.plan,
        seats=p.seats,
        start=body.start_date,
        end=body.end_date,
        add_ons=p.add_ons,
        included=p.included,
        discount_pct=body.discount_pct,
        shift=p.shift.code,
    )
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
    if body is not None and not errors and action == "confirm":
        lease, error = await attempt(session, lambda: _create(session, user, body, threshold))
        if error is None:
            return redirect(request, f"/admin/leases/{lease.id}", "Lease booked")
        errors = {FORM_FIELD.get(error.field or "", error.field or "__all__"): error.detail}
        result = None
    ctx = await form_context(session, values)
    return render(
        request, "lease_new.html", {"v": values, "errors": errors, "preview": result, **ctx}, status_code=422 if errors else 200
    )


async def _create(session: AsyncSession, user: Principal, body: s.LeaseCreate, threshold: Decimal) -> Lease:
    """The API's use-case with the API's model: the admin books as staff."""
    return await booking.create_lease(session, user, body, is_staff=True, discount_threshold_pct=threshold)


# ---- detail and actions --------------------------------------------------------------------


async def detail_context(session: AsyncSession, lease: Lease) -> dict[str, Any]:
    detail = await queries.lease_detail(session, lease)
    view = detail.view
    site = await catalog.get_site(session, lease.site_id)
    client = await session.get(Client, lease.client_id)
    team = await session.get(Team, lease.team_id)
    plan = await session.get(Plan, lease.plan_id)
    today = catalog.site_today(site)
    day = lease.start_date if today < lease.start_date else (min(today, lease.end_date) if lease.end_date else today)
    seat_ids = {x.id for x in view.seats}
    maps = []
    shift = await catalog.get_shift(session, site.id, lease.shift_code)
    for floor in detail.floors:
        fm = await load_floor_map(session, site, floor, day, shift)
        maps.append({"floor": floor, "svg": render_svg(fm, highlight=seat_ids)})
    assignments = detail.assignments
    members = detail.members
    amendments = detail.amendments
    from service.admin import finance, provisioning

    return {
        "lease": lease,
        "view": view,
        "site": site,
        "client": client,
        "team": team,
        "plan": plan,
        "today": today,
        "maps": maps,
        "map_day": day,
        "assignments": assignments,
        "members": members,
        "member_names": {m.id: m.name for m in members},
        "amendments": amendments,
        "credentials": await provisioning.lease_credentials(session, lease.id),
        "invoices": await finance.lease_invoices(session, lease.id),
    }


async def _detail(
    request: Request,
    session: AsyncSession,
    lease_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lease = await state.get_lease(session, lease_id)
    ctx = await detail_context(session, lease)
    return render(
        request,
        "lease_detail.html",
        {**ctx, "errors": errors or {}, "v": values or {}, "flash": request.query_params.get("flash")},
        status_code=status_code,
    )


@router.get("/leases/{lease_id}", response_class=HTMLResponse)
async def lease_detail(request: Request, lease_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    return await _detail(request, session, lease_id)


async def _act(
    request: Request, session: SessionDep, lease_id: uuid.UUID, values: dict[str, Any], done: str, work: Any
) -> Response:
    """Run one lifecycle action; a domain error shows next to the action's field, nothing kept."""
    lease = await state.get_lease(session, lease_id, for_update=True)

    _, error = await attempt(session, lambda: work(lease))
    if error is None:
        return redirect(request, f"/admin/leases/{lease_id}", done)
    await session.refresh(lease)
    field = error.field or "__all__"
    return await _detail(
        request, session, lease_id, errors={FORM_FIELD.get(field, field): error.detail}, values=values, status_code=422
    )


def _date(values: dict[str, Any], name: str, errors: dict[str, str]) -> date | None:
    body, errs = validate_form(s.LeaseEnd, {"end_date": values.get(name) or None})
    if errs or body is None:
        errors[name] = next(iter(errs.values()), "not a date")
        return None
    return body.end_date


@router.post("/leases/{lease_id}/end", response_model=None)
async def end_lease(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    end = _date(form, "end_date", errors)
    if end is None:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        f"Lease ends on {end}",
        lambda lease: lifecycle.end_lease(session, user, lease, end, is_staff=True),
    )


@router.post("/leases/{lease_id}/cancel", response_model=None)
async def cancel_lease(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    return await _act(
        request, session, lease_id, form, "Lease cancelled", lambda lease: lifecycle.cancel_lease(session, user, lease)
    )


@router.post("/leases/{lease_id}/approve", response_model=None)
async def approve_lease(request: Request, lease_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    return await _act(
        request, session, lease_id, form, "Lease approved", lambda lease: lifecycle.approve_lease(session, user, lease)
    )


@router.post("/leases/{lease_id}/seats", response_model=None)
async def add_seats(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    effective = _date(form, "effective", errors)
    lease = await state.get_lease(session, lease_id)
    data: dict[str, Any] = {"effective": effective.isoformat() if effective else None}
    labels = split_labels(str(form.get("add_labels") or ""))
    if labels:
        found = await queries.seat_ids_by_label(session, lease.site_id, labels)
        missing = [x for x in labels if x not in found]
        if missing:
            errors["add_labels"] = f"no seat {missing[0]} on this site"
        data["seat_ids"] = [str(found[x]) for x in labels if x in found]
    else:
        data["seat_count"] = form.get("add_count") or None
    body, errs = validate_form(s.SeatsAdd, data)
    for k, v in errs.items():
        errors.setdefault({"seat_count": "add_count", "seat_ids": "add_labels"}.get(k, k), v)
    if errors or body is None:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Seats added",
        lambda lease: lifecycle.add_seats(
            session, user, lease, seat_count=body.seat_count, seat_ids=body.seat_ids, effective=body.effective, is_staff=True
        ),
    )


@router.post("/leases/{lease_id}/seats/{seat_id}/release", response_model=None)
async def release_seat(
    request: Request, lease_id: uuid.UUID, seat_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    errors: dict[str, str] = {}
    effective = _date(form, "effective", errors)
    if effective is None:
        return await _detail(request, session, lease_id, errors={"release": errors["effective"]}, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Seat released",
        lambda lease: lifecycle.release_seat(session, user, lease, seat_id, effective=effective, is_staff=True),
    )


@router.post("/leases/{lease_id}/assignments", response_model=None)
async def put_assignments(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    try:
        for key, value in form.items():
            if key.startswith("seat_") and value:
                pairs.append((uuid.UUID(key.removeprefix("seat_")), uuid.UUID(str(value))))
    except ValueError:
        return await _detail(request, session, lease_id, errors={"assignments": "not a valid choice"}, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Assignments saved",
        lambda lease: lifecycle.set_assignments(session, user, lease, pairs),
    )


def parse_decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
