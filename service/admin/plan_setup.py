"""Issue 13, plans from the admin: a plan created with its inclusions and add-ons, an inclusion or an
add-on added to a plan, an inclusion edited. The same use-cases and input models as POST /v1/plans,
POST /v1/plans/{id}/inclusions and PATCH /v1/plans/{id}/inclusions/{code}; a plan's new price from a
date is issue 11's form on the plan's page (service/admin/terms.py). Prices are typed in major units."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.services import catalog, site_setup
from domain.services.catalog_schemas import InclusionIn, PlanCreate
from domain.services.setup_schemas import InclusionUpdate
from service.admin.invoices import parse_amount
from service.admin.terms import _plan_page
from service.admin.web import CsrfForm, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

NEW_ROWS = 3  # blank inclusion rows on the new-plan form (more are added on the plan's page)
INC_FIELDS = ("code", "name", "kind", "billing", "unit_price_minor", "device_kind", "quantity_per_seat")


def money(text: str, currency: str, name: str, errors: dict[str, str], *, default: int | None = None) -> int | None:
    """A price typed in major units ("15,000.00") as minor units; its error goes next to its field."""
    if not text.strip():
        if default is None:
            errors[name] = f"enter the price ({currency})"
        return default
    minor, problem = parse_amount(text, currency)
    if problem:
        errors[name] = problem
    return minor


def _inclusion(values: dict[str, str], prefix: str, currency: str, errors: dict[str, str]) -> InclusionIn | None:
    """One inclusion row of a form (fields ``{prefix}code``…), checked by the API's own model."""
    v = {k: values.get(prefix + k, "").strip() for k in INC_FIELDS}
    data: dict[str, Any] = {k: v[k] for k in ("code", "name", "kind", "billing") if v[k]}
    data["unit_price_minor"] = money(v["unit_price_minor"], currency, prefix + "unit_price_minor", errors, default=0)
    if v["device_kind"]:
        data["device_kind"] = v["device_kind"]
    data["quantity_per_seat"] = v["quantity_per_seat"] or 1
    body, errs = validate_form(InclusionIn, data)
    for k, msg in errs.items():
        errors.setdefault(prefix + (k if k in INC_FIELDS else "code"), msg)
    return body


async def _plans_page(request: Request, session: AsyncSession, values: dict[str, str], errors: dict[str, str]) -> HTMLResponse:
    plans, _ = await catalog.list_plans(session, site_id=None, cursor=None, limit=500)
    sites = {s.id: s for s in await catalog.all_sites(session)}
    return render(
        request,
        "plans.html",
        {"plans": plans, "sites": sites, "v": values, "errors": errors, "new_rows": NEW_ROWS},
        status_code=422,
    )


@router.post("/plans", response_model=None)
async def create_plan(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v) for k, v in form.items()}
    errors: dict[str, str] = {}
    site = None
    try:
        site = await catalog.site_for(session, uuid.UUID(values.get("site_id", "")))
    except (ValueError, ValidationFailed):
        errors["site_id"] = "choose the site"
    if site is None:
        return await _plans_page(request, session, values, errors)
    cur = site.currency
    data: dict[str, Any] = {
        "site_id": str(site.id),
        "name": values.get("name", "").strip(),
        "monthly_price_minor": money(values.get("monthly_price_minor", ""), cur, "monthly_price_minor", errors),
        "setup_fee_minor": money(values.get("setup_fee_minor", ""), cur, "setup_fee_minor", errors, default=0),
        "deposit_months": values.get("deposit_months", "").strip() or 0,
        "notice_days": values.get("notice_days", "").strip() or 30,
    }
    rows = [f"inc{i}_" for i in range(NEW_ROWS) if any(values.get(f"inc{i}_{k}", "").strip() for k in ("code", "name"))]
    inclusions = [_inclusion(values, prefix, cur, errors) for prefix in rows]
    codes = [i.code for i in inclusions if i is not None]
    for prefix, inc in zip(rows, inclusions, strict=True):
        if inc is not None and codes.count(inc.code) > 1:
            errors.setdefault(prefix + "code", "each inclusion needs its own code")
    body, errs = validate_form(PlanCreate, {**{k: v for k, v in data.items() if v is not None}, "inclusions": []})
    for k, msg in errs.items():
        errors.setdefault(k, msg)
    if body is not None and not errors:
        body = body.model_copy(update={"inclusions": [i for i in inclusions if i is not None]})
        plan, error = await attempt(session, lambda: catalog.create_plan(session, user, site, body))
        if error is None:
            return redirect(request, f"/admin/plans/{plan.id}", f"Plan {plan.name} created")
        errors = {error.field or "__all__": error.detail}
    return await _plans_page(request, session, values, errors)


@router.post("/plans/{plan_id}/inclusions", response_model=None)
async def add_inclusion(request: Request, plan_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    plan = await catalog.get_plan(session, plan_id)
    site = await catalog.site_for(session, plan.site_id)
    values = {k: str(v) for k, v in form.items()}
    errors: dict[str, str] = {}
    body = _inclusion(values, "inc_", site.currency, errors)
    if body is not None and not errors:
        inc, error = await attempt(session, lambda: site_setup.add_inclusion(session, user, plan, body))
        if error is None:
            return redirect(request, f"/admin/plans/{plan_id}", f"{inc.name} added")
        errors = {"inc_" + (error.field or "code"): error.detail}
    return await _plan_page(request, session, plan_id, errors=errors, values=values, status_code=422)


async def _inclusion_page(
    request: Request,
    session: AsyncSession,
    plan_id: uuid.UUID,
    code: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    plan = await catalog.get_plan(session, plan_id)
    inc = await site_setup.get_inclusion(session, plan, code)
    v = {k: str(getattr(inc, k) or "") for k in ("name", "kind", "device_kind", "quantity_per_seat")}
    return render(
        request,
        "inclusion_edit.html",
        {
            "plan": plan,
            "inc": inc,
            "site": await catalog.site_for(session, plan.site_id),
            "live": await site_setup.live_leases_of_plan(session, plan),
            "v": {**v, **(values or {})},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/plans/{plan_id}/inclusions/{code}", response_class=HTMLResponse)
async def inclusion_detail(request: Request, plan_id: uuid.UUID, code: str, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _inclusion_page(request, session, plan_id, code)


@router.post("/plans/{plan_id}/inclusions/{code}", response_model=None)
async def update_inclusion(
    request: Request, plan_id: uuid.UUID, code: str, user: Ops, session: SessionDep, form: CsrfForm
) -> Response:
    plan = await catalog.get_plan(session, plan_id)
    inc = await site_setup.get_inclusion(session, plan, code)
    values = {k: str(form.get(k) or "") for k in ("name", "kind", "device_kind", "quantity_per_seat")}
    data: dict[str, Any] = {k: v.strip() for k, v in values.items() if v.strip()}
    body, errors = validate_form(InclusionUpdate, data)
    if body is not None:
        _, error = await attempt(session, lambda: site_setup.update_inclusion(session, user, plan, inc, body))
        if error is None:
            return redirect(request, f"/admin/plans/{plan_id}", f"{inc.name} saved")
        errors = {error.field or "__all__": error.detail}
    return await _inclusion_page(request, session, plan_id, code, values, errors)
