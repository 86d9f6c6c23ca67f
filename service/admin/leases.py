"""Leases: the list, booking with a price preview, the detail page and its lifecycle actions.

Every change goes through the leasing aggregate's use-cases (domain/leasing/), the same functions
with the same input models the API uses; what the pages show comes from its read-models
(domain/leasing/queries.py, floor_map.py)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import change_queries, floor_map, lifecycle, notice, queries, state
from domain.leasing import terms as lease_terms
from domain.leasing.renewal import term_start, up_for_renewal
from domain.leasing.schemas import LeaseEnd, SeatsAdd
from domain.models import (
    Client,
    Lease,
    Plan,
    Team,
)
from domain.rules import renewal as renewal_rules
from domain.services import catalog
from domain.services import charges as charges_svc
from service.admin import lease_booking
from service.admin import proposals as admin_proposals
from service.admin.confirm import dry_run, is_confirmed
from service.admin.invoices import parse_amount
from service.admin.lease_booking import FORM_FIELD, split_labels
from service.admin.lease_confirm import approval_ask, confirm_cancel, confirm_end, confirm_release
from service.admin.seatmap import load_floor_map, render_svg
from service.admin.web import CsrfForm, Finance, Ops, Staff, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

# what the forms call a field the use-cases name (issue 11: the fee is typed in major units)
FORM_FIELD = {**FORM_FIELD, "early_termination_fee_minor": "early_termination_fee"}

STATUSES = ("pending_approval", "confirmed", "active", "ended", "cancelled", "proposed")


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
    renewal: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    window = renewal_window(request)  # --- renewal (issue 11): "due" lists the leases up for renewal ---
    f = queries.LeaseListFilter(
        status=status if status in STATUSES else None,
        site_id=_uuid(site_id, "site_id", errors) if site_id else None,
        client_id=_uuid(client_id, "client_id", errors) if client_id else None,
        client_name_contains=q or None,
        starts_from=_day(starts_from, "starts_from", errors) if starts_from else None,
        up_for_renewal_within=window if renewal == "due" else None,
    )
    rows = [] if errors else await queries.lease_list(session, f)
    sites = await floor_map.all_sites(session)
    site_of = {x.id: x for x in sites}
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
                "renewal": renewal or "",
            },
            "renewal_window": window,
            "due_ids": {
                r.lease.id for r in rows if up_for_renewal(r.lease, catalog.site_today(site_of[r.lease.site_id]), window)
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


def renewal_window(request: Request) -> int:
    """SEATLEASE_RENEWAL_WINDOW_DAYS: a fixed-term lease is up for renewal this many days before its term end."""
    return int(request.app.state.settings.renewal_window_days)


# the booking form (its /leases/new routes come before /leases/{lease_id})
router.include_router(lease_booking.router)
router.include_router(admin_proposals.router)


# ---- detail and actions --------------------------------------------------------------------


async def detail_context(session: AsyncSession, lease: Lease, renewal_window_days: int = 60) -> dict[str, Any]:
    detail = await queries.lease_detail(session, lease, renewal_window_days=renewal_window_days)
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
        # --- console (issue 13): pickers say who is who: "Ana Cruz — Inbound · E-1042" ---
        "member_labels": await queries.member_labels(session, members),
        "amendments": amendments,
        "credentials": await provisioning.lease_credentials(session, lease.id),
        "invoices": await finance.lease_invoices(session, lease.id),
        # --- notice, early termination, renewal (issue 11) ---
        "charges": await charges_svc.lease_charges(session, lease.id),
        "same_term_end": renewal_rules.same_term_end(term_start(lease), lease.term_end_date) if lease.term_end_date else None,
        "earliest_notice_end": notice.earliest_notice_end(lease, today),
        # --- terms (issue 11)
        "terms": await lease_terms.lease_terms(session, lease, site.currency, today),
        # --- changes during a term (issue 11): service/admin/lease_changes.py, _lease_changes.html ---
        "changes": await change_queries.lease_changes_view(session, lease, day),
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
    ctx = await detail_context(session, lease, renewal_window(request))
    # --- approvals (issue 13): what a lease waiting for approval asks for ---
    if lease.status == "pending_approval":
        ctx["approval"] = await approval_ask(session, lease, ctx["terms"].monthly_price_minor, ctx["view"], request)
    # --- proposals and holds ---
    ctx.update(await admin_proposals.hold_context(session, lease, request.app.state.settings.pending_hold))
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
    request: Request,
    session: SessionDep,
    lease_id: uuid.UUID,
    values: dict[str, Any],
    done: str,
    work: Any,
    fields: dict[str, str] | None = None,
) -> Response:
    """Run one lifecycle action; a domain error shows next to the action's field, nothing kept.
    ``fields``: a form's own names for the fields a domain error names (others show at the top)."""
    lease = await state.get_lease(session, lease_id, for_update=True)

    _, error = await attempt(session, lambda: work(lease))
    if error is None:
        return redirect(request, f"/admin/leases/{lease_id}", done)
    await session.refresh(lease)
    field = error.field or "__all__"
    name = fields.get(field, "__all__") if fields is not None else FORM_FIELD.get(field, field)
    return await _detail(request, session, lease_id, errors={name: error.detail}, values=values, status_code=422)


async def _ask(
    request: Request, session: SessionDep, lease_id: uuid.UUID, values: dict[str, Any], work: Any, page: Any
) -> Response:
    """The first post of a destructive action: its dry run's error on the lease page as `_act`
    shows it, else the confirmation page (service/admin/confirm.py)."""
    lease = await state.get_lease(session, lease_id, for_update=True)
    error = await dry_run(session, lambda: work(lease))
    if error is not None:
        field = error.field or "__all__"
        name = FORM_FIELD.get(field, field)
        return await _detail(request, session, lease_id, errors={name: error.detail}, values=values, status_code=422)
    response: Response = await page(await state.get_lease(session, lease_id))
    return response


def _date(values: dict[str, Any], name: str, errors: dict[str, str]) -> date | None:
    body, errs = validate_form(LeaseEnd, {"end_date": values.get(name) or None})
    if errs or body is None:
        errors[name] = next(iter(errs.values()), "not a date")
        return None
    return body.end_date


@router.post("/leases/{lease_id}/end", response_model=None)
async def end_lease(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    end = _date(form, "end_date", errors)
    # --- early termination (issue 11): a reason and an optional fee typed in major units ---
    reason = str(form.get("reason") or "").strip() or None
    fee: int | None = None
    fee_text = str(form.get("early_termination_fee") or "").strip()
    if fee_text:
        site = await catalog.get_site(session, (await state.get_lease(session, lease_id)).site_id)
        fee, fee_error = parse_amount(fee_text, site.currency)
        if fee_error:
            errors["early_termination_fee"] = fee_error
    if end is not None:
        data = {"end_date": end.isoformat(), "reason": reason, "early_termination_fee_minor": fee}
        _, errs = validate_form(LeaseEnd, {k: v for k, v in data.items() if v is not None})
        for k, v in errs.items():
            errors.setdefault(FORM_FIELD.get(k, k), v)
    # --- end early termination ---
    if end is None or errors:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)

    def work(lease: Lease) -> Any:
        return lifecycle.end_lease(session, user, lease, end, is_staff=True, reason=reason, early_termination_fee_minor=fee)

    # --- console (issue 13): ask first, with the end date, after a dry run of the change ---
    if not is_confirmed(form):
        return await _ask(
            request, session, lease_id, form, work, lambda lease: confirm_end(request, session, lease, form, end, fee)
        )
    return await _act(request, session, lease_id, form, f"Lease ends on {end}", work)


@router.post("/leases/{lease_id}/cancel", response_model=None)
async def cancel_lease(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    def work(lease: Lease) -> Any:
        return lifecycle.cancel_lease(session, user, lease)

    if not is_confirmed(form):  # --- console (issue 13) ---
        return await _ask(request, session, lease_id, form, work, lambda lease: confirm_cancel(request, session, lease))
    return await _act(request, session, lease_id, form, "Lease cancelled", work)


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
    body, errs = validate_form(SeatsAdd, data)
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
        if not is_confirmed(form):
            return await _detail(
                request, session, lease_id, errors={"release": errors["effective"]}, values=form, status_code=422
            )
        # a bad date typed on the confirmation: asked again there, next to the field
        lease = await state.get_lease(session, lease_id)
        return await confirm_release(request, session, lease, seat_id, form, errors=errors)

    def work(lease: Lease) -> Any:
        return lifecycle.release_seat(session, user, lease, seat_id, effective=effective, is_staff=True)

    if not is_confirmed(form):  # --- console (issue 13): ask first, with the date it takes effect ---
        return await _ask(
            request, session, lease_id, form, work, lambda lease: confirm_release(request, session, lease, seat_id, form)
        )
    return await _act(request, session, lease_id, form, "Seat released", work)


@router.post("/leases/{lease_id}/assignments", response_model=None)
async def put_assignments(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    """Every seat's choice at once. On an error the page keeps every choice made and marks the rows
    at fault (`seat_<id>` errors, from the use-case's `seat_ids`), with the reason at the top."""
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    row_errors: dict[str, str] = {}
    for key, value in form.items():
        if not key.startswith("seat_") or not value:
            continue
        try:
            pairs.append((uuid.UUID(key.removeprefix("seat_")), uuid.UUID(str(value))))
        except ValueError:
            row_errors[key] = "not a valid choice"
    if row_errors:
        errors = {"assignments": "a choice is not valid: see the marked row", **row_errors}
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    lease = await state.get_lease(session, lease_id, for_update=True)
    _, error = await attempt(session, lambda: lifecycle.set_assignments(session, user, lease, pairs))
    if error is None:
        return redirect(request, f"/admin/leases/{lease_id}", "Assignments saved")
    await session.refresh(lease)
    errors = {"assignments": error.detail}
    for seat_id in error.extra.get("seat_ids") or ():
        errors[f"seat_{seat_id}"] = error.detail
    return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)


def parse_decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
