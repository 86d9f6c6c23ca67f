"""Issue 13, set-up pages: the sites (time zone, currency, tax, issuing entity), each site's floors and
shifts. Forms become the API's own input models and go to the same use-cases as the API
(domain/services/catalog.py, site_setup.py): an error shows next to its field, every value typed
stays, and nothing is saved."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from domain.rules.money import CURRENCIES
from domain.rules.timezones import site_timezones
from domain.services import catalog, site_setup
from domain.services.catalog_schemas import FloorCreate, ShiftCreate, SiteCreate, SiteUpdate
from service.admin.documents import ISSUER_FIELDS
from service.admin.web import CsrfForm, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

SITE_FIELDS = ("code", "name", "timezone", "currency", "tax_rate")


def form_values(form: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """What was typed, as typed (a textarea's line ends as the browser sends them, normalised)."""
    return {k: str(form.get(k) or "").replace("\r\n", "\n") for k in names}


def _tax_rate(text: str, errors: dict[str, str]) -> Decimal | None:
    """The tax rate typed as a percentage ("12", "12%", "8.875") as the API's fraction (0.12)."""
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned:
        errors["tax_rate"] = "enter the tax rate, e.g. 12 for 12%"
        return None
    try:
        pct = Decimal(cleaned)
    except InvalidOperation:
        pct = Decimal("NaN")
    if not pct.is_finite() or pct < 0 or pct > 100:
        errors["tax_rate"] = "a percentage from 0 to 100, e.g. 12"
        return None
    return (pct / 100).normalize()


def percent(rate: Decimal) -> str:
    return format((Decimal(rate) * 100).normalize(), "f")


def _site_data(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: values[k].strip() for k in ("code", "name", "timezone")}
    data["currency"] = values["currency"].strip().upper()
    data["tax_rate"] = _tax_rate(values["tax_rate"], errors)
    return data


def _issuer_data(values: dict[str, str]) -> dict[str, str]:
    return {
        k: (values[k].strip() if k in ("legal_name", "tax_id", "tax_label") else values[k].strip("\n")) for k in ISSUER_FIELDS
    }


def _choices() -> dict[str, Any]:
    return {"timezones": site_timezones(), "currencies": CURRENCIES}


# ---- the sites -------------------------------------------------------------------------------


async def _sites_page(
    request: Request, session: AsyncSession, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "sites.html",
        {
            "sites": await catalog.all_sites(session),
            "counts": await site_setup.site_counts(session),
            "v": values or {"tax_label": "VAT"},
            "errors": errors or {},
            "percent": percent,
            "flash": request.query_params.get("flash"),
            **_choices(),
        },
        status_code=422 if errors else 200,
    )


@router.get("/sites", response_class=HTMLResponse)
async def site_list(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _sites_page(request, session)


@router.post("/sites", response_model=None)
async def create_site(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = form_values(form, SITE_FIELDS + ISSUER_FIELDS)
    errors: dict[str, str] = {}
    data = {**_site_data(values, errors), **_issuer_data(values)}
    body, more = validate_form(SiteCreate, {k: v for k, v in data.items() if v is not None})
    errors = {**more, **errors}
    if body is not None and not errors:
        site, error = await attempt(session, lambda: catalog.create_site(session, user, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site.id}", f"Site {site.code} created")
        errors = {error.field or "__all__": error.detail}
    return await _sites_page(request, session, values, errors)


async def _site_page(
    request: Request,
    session: AsyncSession,
    site_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    site = await catalog.get_site(session, site_id)
    v = {k: str(getattr(site, k)) for k in SITE_FIELDS} | {"tax_rate": percent(site.tax_rate)}
    return render(
        request,
        "site_detail.html",
        {
            "site": site,
            "floors": await site_setup.floor_rows(session, site.id),
            "shifts": await catalog.list_shifts(session, site.id),
            "shift_use": await site_setup.shift_usage(session, site.id),
            "v": {**v, **(values or {})},
            "errors": errors or {},
            "percent": percent,
            "flash": request.query_params.get("flash"),
            **_choices(),
        },
        status_code=422 if errors else 200,
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
async def site_detail(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _site_page(request, session, site_id)


@router.post("/sites/{site_id}", response_model=None)
async def update_site(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    site = await catalog.get_site(session, site_id)
    values = form_values(form, SITE_FIELDS)
    errors: dict[str, str] = {}
    data = _site_data(values, errors)
    body, more = validate_form(SiteUpdate, {k: v for k, v in data.items() if v is not None})
    errors = {**more, **errors}
    if body is not None and not errors:
        _, error = await attempt(session, lambda: catalog.update_site(session, user, site, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}", "Site saved")
        errors = {error.field or "__all__": error.detail}
    return await _site_page(request, session, site_id, errors=errors, values=values)


# ---- a site's floors and shifts -------------------------------------------------------------------


@router.post("/sites/{site_id}/floors", response_model=None)
async def create_floor(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    site = await catalog.get_site(session, site_id)
    values = {"floor_name": str(form.get("floor_name") or ""), "floor_level": str(form.get("floor_level") or "")}
    body, errs = validate_form(FloorCreate, {"name": values["floor_name"].strip(), "level": values["floor_level"].strip() or 0})
    if body is not None:
        floor, error = await attempt(session, lambda: catalog.create_floor(session, user, site, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}/floors/{floor.id}", f"Floor {floor.name} added")
        errs = {error.field or "__all__": error.detail}
    errors = {"floor_" + k if k in ("name", "level") else k: v for k, v in errs.items()}
    return await _site_page(request, session, site_id, errors=errors, values=values)


SHIFT_FIELDS = ("shift_code", "shift_name", "shift_starts_at", "shift_ends_at")


@router.post("/sites/{site_id}/shifts", response_model=None)
async def create_shift(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    site = await catalog.get_site(session, site_id)
    values = form_values(form, SHIFT_FIELDS)
    data = {k.removeprefix("shift_"): v.strip() for k, v in values.items()}
    body, errs = validate_form(ShiftCreate, data)
    if body is not None:
        shift, error = await attempt(session, lambda: catalog.create_shift(session, user, site, body))
        if error is None:
            return redirect(request, f"/admin/sites/{site_id}", f"Shift {shift.code} added")
        errs = {error.field or "__all__": error.detail}
    errors = {("shift_" + k if "shift_" + k in SHIFT_FIELDS else k): v for k, v in errs.items()}
    return await _site_page(request, session, site_id, errors=errors, values=values)
