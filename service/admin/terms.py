"""Issue 11, terms that hold, in the admin: a plan's page with its price history and a form to add a
dated price; on a lease's page, its own terms with forms for a dated seat price and the yearly
escalation. Forms become the API's own input models and go to the same use-cases the API calls."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import state, terms
from domain.leasing.terms_schemas import EscalationIn, PriceStepIn
from domain.services import catalog, plan_prices
from domain.services.plan_price_schemas import PlanPriceCreate
from service.admin.invoices import parse_amount
from service.admin.leases import _act, _detail
from service.admin.web import CsrfForm, Ops, Staff, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()


def _money(values: dict[str, Any], name: str, currency: str, errors: dict[str, str], *, required: bool) -> int | None:
    """A price typed in major units ("15,000.00") as minor units; the error goes next to the field."""
    text = str(values.get(name) or "").strip()
    if not text:
        if required:
            errors[name] = f"enter the price ({currency})"
        return None
    minor, problem = parse_amount(text, currency)
    if problem:
        errors[name] = problem
    return minor


# ---- plans -----------------------------------------------------------------------------------


@router.get("/plans", response_class=HTMLResponse)
async def plan_list(request: Request, user: Staff, session: SessionDep) -> HTMLResponse:
    plans, _ = await catalog.list_plans(session, site_id=None, cursor=None, limit=500)
    sites = {s.id: s for s in await catalog.all_sites(session)}
    return render(request, "plans.html", {"plans": plans, "sites": sites})


async def _plan_page(
    request: Request,
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    plan = await catalog.get_plan(session, plan_id)
    site = await catalog.site_for(session, plan.site_id)
    (view,) = await catalog.plan_views(session, [plan])
    today = catalog.site_today(site)
    return render(
        request,
        "plan_detail.html",
        {
            "plan": view,
            "site": site,
            "today": today,
            "history": await plan_prices.price_history(session, plan, site.currency),
            "in_force": await plan_prices.price_in_force(session, plan, today),
            "add_ons": [i for i in view.inclusions if i.billing != "included"],
            "errors": errors or {},
            "v": values or {},
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
async def plan_detail(request: Request, plan_id: uuid.UUID, user: Staff, session: SessionDep) -> HTMLResponse:
    return await _plan_page(request, session, plan_id)


@router.post("/plans/{plan_id}/prices", response_model=None)
async def add_plan_price(request: Request, plan_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    plan = await catalog.get_plan(session, plan_id)
    site = await catalog.site_for(session, plan.site_id)
    values = {k: str(v) for k, v in form.items()}
    errors: dict[str, str] = {}
    cur = site.currency
    data: dict[str, Any] = {
        "effective_from": values.get("effective_from") or None,
        "monthly_price_minor": _money(values, "monthly_price_minor", cur, errors, required=True),
        "setup_fee_minor": _money(values, "setup_fee_minor", cur, errors, required=False),
        "deposit_months": values.get("deposit_months", "").strip() or None,
        "reason": values.get("reason", "").strip() or None,
        "add_on_prices": [],
    }
    for k in values:
        if k.startswith("addon.") and values[k].strip():
            price = _money(values, k, cur, errors, required=False)
            data["add_on_prices"].append({"code": k.removeprefix("addon."), "unit_price_minor": price})
    if errors:
        return await _plan_page(request, session, plan_id, errors=errors, values=values, status_code=422)
    body, errors = validate_form(PlanPriceCreate, {k: v for k, v in data.items() if v is not None})
    if body is not None:
        row, error = await attempt(
            session, lambda: plan_prices.add_plan_price(session, user, plan, site, body, catalog.site_today(site))
        )
        if error is None:
            return redirect(request, f"/admin/plans/{plan_id}", f"Price from {row.effective_from} added")
        errors = {error.field or "__all__": error.detail}
    return await _plan_page(request, session, plan_id, errors=errors, values=values, status_code=422)


# ---- a lease's own terms -------------------------------------------------------------------------


@router.post("/leases/{lease_id}/price-steps", response_model=None)
async def add_price_step(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    lease = await state.get_lease(session, lease_id)
    site = await catalog.get_site(session, lease.site_id)
    errors: dict[str, str] = {}
    values = {k: str(v) for k, v in form.items()}
    data: dict[str, Any] = {
        "effective_date": values.get("step_date") or None,
        "monthly_price_minor": _money(values, "step_price", site.currency, errors, required=True),
        "reason": values.get("step_reason", "").strip() or None,
    }
    body, errs = validate_form(PriceStepIn, {k: v for k, v in data.items() if v is not None})
    names = {"effective_date": "step_date", "monthly_price_minor": "step_price", "reason": "step_reason"}
    for k, v in errs.items():
        errors.setdefault(names.get(k, k), v)
    if body is None or errors:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        f"Seat price from {body.effective_date} set",
        lambda lease: terms.set_seat_price_from(session, lease, body.effective_date, body.monthly_price_minor, user, body.reason),
    )


@router.post("/leases/{lease_id}/price-steps/{effective_date}/remove", response_model=None)
async def remove_price_step(
    request: Request, lease_id: uuid.UUID, effective_date: date, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    return await _act(
        request,
        session,
        lease_id,
        form,
        f"Seat price from {effective_date} removed",
        lambda lease: terms.remove_price_step(session, lease, effective_date, user),
    )


@router.post("/leases/{lease_id}/escalation", response_model=None)
async def set_escalation(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    pct = str(form.get("escalation_pct") or "").strip() or None
    body, errs = validate_form(EscalationIn, {"escalation_pct": pct})
    if body is None:
        return await _detail(
            request, session, lease_id, errors={"escalation_pct": next(iter(errs.values()))}, values=form, status_code=422
        )
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Escalation removed" if not body.escalation_pct else f"Escalation {body.escalation_pct}% a year set",
        lambda lease: terms.set_escalation(session, lease, body.escalation_pct, user),
    )
