"""Booking seats from the client portal (issue 14): a new lease for one of the client's own teams,
priced first by the API's quote (billing/quote.py ``quote_booking``: the first invoice line by line,
then a full month) and booked by the API's use-case as a client (``book_lease``, ``is_staff=False``:
no discount or other commercial terms, the seat cap, no start in the past). Client admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing.quote import quote_booking
from domain.errors import NotFound
from domain.leasing import booking, floor_map, queries
from domain.leasing.floor_map import site_shifts
from domain.leasing.schemas import LeaseCreate
from domain.services import catalog
from domain.services import clients as svc
from service.auth import Principal
from service.db import SessionDep
from service.portal.leases import client_limits, renewal_window
from service.portal.web import ClientAdmin, CsrfForm, attempt, blank_to_none, redirect, render, tenant, validate_form

router = APIRouter()  # included in the portal's router, under /portal

FIELDS = ("site_id", "team_id", "plan_id", "shift", "start_date", "end_date", "seat_count")


async def _choices(session: AsyncSession, user: Principal, values: dict[str, Any]) -> dict[str, Any]:
    sites = await floor_map.all_sites(session)
    site = next((x for x in sites if str(x.id) == values.get("site_id")), sites[0] if sites else None)
    ctx: dict[str, Any] = {"sites": sites, "site": site, "plans": [], "shifts": [], "addons": {}}
    ctx["teams"] = await svc.list_teams(session, tenant(user))
    if site is None:
        return ctx
    values["site_id"] = str(site.id)
    plans = await catalog.plan_views(session, await queries.site_plans(session, site.id))
    ctx["plans"] = plans
    ctx["addons"] = {str(p.id): [i for i in p.inclusions if i.billing != "included"] for p in plans}
    ctx["included"] = {str(p.id): [i for i in p.inclusions if i.billing == "included"] for p in plans}
    ctx["shifts"] = await site_shifts(session, site.id)
    values.setdefault("start_date", catalog.site_today(site).isoformat())
    return ctx


def _request(user: Principal, values: dict[str, Any]) -> tuple[LeaseCreate | None, dict[str, str]]:
    """The form as the API's LeaseCreate, for the signed-in client (never a client id from the form)."""
    data: dict[str, Any] = blank_to_none({k: values.get(k) for k in FIELDS}, *FIELDS)
    data["client_id"] = str(tenant(user))
    errors: dict[str, str] = {}
    add_ons = []
    prefix = f"addon.{data['plan_id']}."
    for key, qty in values.items():
        text = str(qty).strip()
        if key.startswith(prefix) and text not in ("", "0"):
            if not text.isdigit() or int(text) > 10_000:
                errors[key] = "a whole number of units, 0 to 10000"
                continue
            add_ons.append({"code": key.removeprefix(prefix), "quantity": text})
    data["add_ons"] = add_ons
    if data["seat_count"] is None:
        errors["seat_count"] = "how many seats?"
    body, schema_errors = validate_form(LeaseCreate, {k: v for k, v in data.items() if v is not None or k == "end_date"})
    for k, v in schema_errors.items():
        errors.setdefault({"client_id": "team_id", "add_ons": "add_ons"}.get(k, k), v)
    return (body if not errors else None), errors


def _refused(field: str | None) -> str:
    return {"client_id": "team_id", "seat_ids": "seat_count"}.get(field or "", field or "__all__")


@router.get("/book", response_class=HTMLResponse)
async def book_page(request: Request, user: ClientAdmin, session: SessionDep) -> HTMLResponse:
    values: dict[str, Any] = {k: v for k, v in request.query_params.items() if len(v) < 200}
    values.setdefault("shift", "DAY")
    ctx = await _choices(session, user, values)
    return render(request, "portal/book.html", {"v": values, "errors": {}, **ctx})


@router.post("/book", response_model=None)
async def book(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """``action=preview``: the quote, nothing written; ``action=confirm``: the booking itself, after
    the same checks (a refusal keeps the form and says why next to the field)."""
    values = {k: str(v) for k, v in form.items()}
    action = values.pop("action", "preview")
    settings = request.app.state.settings
    threshold = settings.discount_approval_threshold_pct
    body, errors = _request(user, values)
    quote = None
    if body is not None:
        quote, error = await attempt(
            session, lambda: quote_booking(session, body, discount_threshold_pct=threshold, is_staff=False)
        )
        if isinstance(error, NotFound):
            raise error
        if error is not None:
            errors = {_refused(error.field): error.detail}
    if body is not None and not errors and action == "confirm":

        async def make() -> Any:
            lease, _view = await booking.book_lease(
                session,
                user,
                body,
                is_staff=False,
                discount_threshold_pct=threshold,
                limits=client_limits(request),
                renewal_window_days=renewal_window(request),
            )
            return lease

        lease, error = await attempt(session, make)
        if error is None:
            return redirect(request, f"/portal/leases/{lease.id}", "Seats booked")
        if isinstance(error, NotFound):
            raise error
        errors = {_refused(error.field): error.detail}
        quote = None
    ctx = await _choices(session, user, values)
    return render(
        request, "portal/book.html", {"v": values, "errors": errors, "quote": quote, **ctx}, status_code=422 if errors else 200
    )


__all__ = ["router"]
