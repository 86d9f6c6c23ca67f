"""Drafts and one-off invoices for finance (issue 12): the drafts of a run or period with their totals,
bulk issue, one-off lines on a draft, a one-off invoice outside the run, and a client's tax treatment.
Every action is one of billing's use-cases (billing/drafts.py) or the clients' update."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import drafts
from billing import invoices as billing_invoices
from billing.draft_queries import draft_list
from billing.draft_schemas import OneOffInvoiceCreate, OneOffLineCreate
from domain.models import Client, Site
from domain.services import clients as client_service
from domain.services.client_schemas import ClientUpdate
from service.admin.invoices import parse_amount
from service.admin.web import CsrfForm, Finance, Staff, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

# rows of lines the one-off invoice form offers (empty rows are left out)
FORM_LINES = 5
TREATMENTS = ("standard", "zero_rated", "exempt")


@router.get("/billing/drafts", response_class=HTMLResponse)
async def drafts_page(
    request: Request,
    user: Finance,
    session: SessionDep,
    period: Annotated[str | None, Query(max_length=7)] = None,
    run_id: uuid.UUID | None = None,
) -> HTMLResponse:
    """The drafts awaiting review (a run's under draft review, one-off ones kept as drafts), issued in bulk."""
    listing = await draft_list(session, period=period or None, run_id=run_id)
    return render(
        request,
        "drafts.html",
        {
            "drafts": listing,
            "period": period or "",
            "run_id": run_id,
            "draft_review": request.app.state.settings.billing_draft_review,
            "flash": request.query_params.get("flash"),
        },
    )


@router.post("/billing/drafts/issue", response_model=None)
async def issue_drafts(request: Request, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """Issue the ticked drafts (or every draft listed, with `all`). A second click issues nothing twice."""
    raw = (await request.form()).getlist("invoice_id")
    back = str(form.get("back") or "/admin/billing/drafts")
    if not back.startswith("/admin/"):
        back = "/admin/billing/drafts"
    ids: list[uuid.UUID] = []
    for value in raw:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            return redirect(request, back, "Not issued: a selected draft is not an invoice id")
    if not ids:
        return redirect(request, back, "Nothing issued: tick the drafts to issue")
    done, error = await attempt(session, lambda: drafts.issue_drafts(session, user, ids))
    if error is not None:
        return redirect(request, back, f"Not issued: {error.detail}")
    labels = [inv.number_label for inv in done if inv.number_label]
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    span = f" ({first} – {last})" if len(labels) > 1 else (f" ({first})" if labels else "")
    return redirect(request, back, f"{len(labels)} invoice{'s' if len(labels) != 1 else ''} issued{span}")


@router.post("/invoices/{invoice_id}/issue", response_model=None)
async def issue_one(request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    done, error = await attempt(session, lambda: drafts.issue_drafts(session, user, [invoice_id]))
    if error is not None:
        return redirect(request, f"/admin/invoices/{invoice_id}", f"Not issued: {error.detail}")
    return redirect(request, f"/admin/invoices/{invoice_id}", f"Invoice {done[0].number_label} issued")


def _line_data(values: dict[str, Any], prefix: str, currency: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A one-off line from the form's `<prefix>description`, `quantity`, `unit_price` (major units), `reason`
    and `tax_treatment` fields."""
    errors: dict[str, str] = {}
    price, problem = parse_amount(str(values.get(prefix + "unit_price", "")), currency)
    if problem:
        errors[prefix + "unit_price"] = problem.replace("the amount to credit, before tax", "the unit price, before tax")
    treatment = str(values.get(prefix + "tax_treatment") or "")
    data: dict[str, Any] = {
        "description": str(values.get(prefix + "description", "")).strip(),
        "quantity": str(values.get(prefix + "quantity") or "1").strip(),
        "unit_price_minor": price,
        "reason": str(values.get(prefix + "reason", "")).strip(),
    }
    if treatment in TREATMENTS:
        data["tax_treatment"] = treatment
    lease = str(values.get(prefix + "lease_id") or "").strip()
    if lease:
        data["lease_id"] = lease
    return data, errors


@router.post("/invoices/{invoice_id}/lines", response_model=None)
async def add_line(request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    from service.admin.invoices import _page  # the invoice page renders the draft's form with its errors

    values = {k: str(v) for k, v in form.items()}
    inv = await billing_invoices.get_invoice(session, invoice_id)
    data, errors = _line_data(values, "line_", inv.currency)
    body, errs = validate_form(OneOffLineCreate, data)
    for k, msg in errs.items():
        errors.setdefault("line_" + ("unit_price" if k == "unit_price_minor" else k), msg)
    if errors or body is None:
        return await _page(request, session, invoice_id, errors=errors, values=values, status_code=422)
    _, error = await attempt(session, lambda: drafts.add_one_off_line(session, user, invoice_id, body))
    if error is not None:
        field = "line_" + (error.field or "description") if error.field else "__all__"
        return await _page(request, session, invoice_id, errors={field: error.detail}, values=values, status_code=error.status)
    return redirect(request, f"/admin/invoices/{invoice_id}", f"Line added: {body.description}")


@router.post("/invoices/{invoice_id}/discard", response_model=None)
async def discard(request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    _, error = await attempt(session, lambda: drafts.discard_draft(session, user, invoice_id))
    if error is not None:
        return redirect(request, f"/admin/invoices/{invoice_id}", f"Not discarded: {error.detail}")
    return redirect(request, "/admin/billing/drafts", "One-off draft discarded")


@router.post("/invoices/{invoice_id}/lines/{line_id}/remove", response_model=None)
async def remove_line(
    request: Request, invoice_id: uuid.UUID, line_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    _, error = await attempt(session, lambda: drafts.remove_one_off_line(session, user, invoice_id, line_id))
    if error is not None:
        return redirect(request, f"/admin/invoices/{invoice_id}", f"Not removed: {error.detail}")
    return redirect(request, f"/admin/invoices/{invoice_id}", "One-off line removed")


async def _choices(session: AsyncSession) -> dict[str, Any]:
    clients = (await session.execute(select(Client.id, Client.legal_name).order_by(Client.legal_name).limit(2000))).tuples().all()
    sites = (await session.execute(select(Site.id, Site.code, Site.name, Site.currency).order_by(Site.code))).tuples().all()
    return {"clients": clients, "sites": sites}


@router.get("/invoices/new", response_class=HTMLResponse)
async def new_invoice(request: Request, user: Finance, session: SessionDep, client_id: uuid.UUID | None = None) -> HTMLResponse:
    return render(
        request,
        "invoice_new.html",
        {**await _choices(session), "errors": {}, "v": {"client_id": str(client_id or "")}, "rows": range(FORM_LINES)},
    )


@router.post("/invoices/new", response_model=None)
async def create_invoice(request: Request, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(v) for k, v in form.items()}
    errors: dict[str, str] = {}
    site = None
    with contextlib.suppress(ValueError):
        site = await session.get(Site, uuid.UUID(values.get("site_id", "")))
    if site is None:
        errors["site_id"] = "choose the issuing site"
    lines: list[dict[str, Any]] = []
    for i in range(FORM_LINES):
        prefix = f"l{i}_"
        if not any(values.get(prefix + k, "").strip() for k in ("description", "unit_price", "reason")):
            continue
        data, errs = _line_data(values, prefix, site.currency if site else "PHP")
        body, more = validate_form(OneOffLineCreate, data)
        errors.update(errs)
        for k, msg in more.items():
            errors.setdefault(prefix + ("unit_price" if k == "unit_price_minor" else k), msg)
        if body is not None:
            lines.append(body.model_dump(exclude_none=True, mode="json"))
    if not lines and not any(k.startswith("l") for k in errors):
        errors["l0_description"] = "add at least one line"
    payload: dict[str, Any] = {
        "client_id": values.get("client_id", ""),
        "site_id": values.get("site_id", ""),
        "lines": lines,
        "issue": values.get("action") == "issue",
    }
    body_inv, errs = validate_form(OneOffInvoiceCreate, payload)
    for k in errs:
        if k in ("client_id", "site_id"):
            errors.setdefault(k, "choose one")
    if errors or body_inv is None:
        return render(
            request,
            "invoice_new.html",
            {**await _choices(session), "errors": errors, "v": values, "rows": range(FORM_LINES)},
            status_code=422,
        )
    inv, error = await attempt(session, lambda: drafts.create_one_off_invoice(session, user, body_inv))
    if error is not None:
        return render(
            request,
            "invoice_new.html",
            {
                **await _choices(session),
                "errors": {error.field or "__all__": error.detail},
                "v": values,
                "rows": range(FORM_LINES),
            },
            status_code=error.status,
        )
    what = f"Invoice {inv.number_label} issued" if inv.number_label else "One-off invoice kept as a draft"
    return redirect(request, f"/admin/invoices/{inv.id}", what)


@router.post("/clients/{client_id}/tax", response_model=None)
async def set_tax_treatment(request: Request, client_id: uuid.UUID, user: Staff, session: SessionDep, form: CsrfForm) -> Response:
    """The client's tax treatment (staff and finance, as PATCH /v1/clients/{id}): standard, or zero-rated
    or exempt with the reason and certificate."""
    values = {k: str(v).strip() for k, v in form.items()}
    data = {k: values.get(k, "") for k in ("tax_treatment", "tax_exemption_reason", "tax_certificate_ref")}
    body, errs = validate_form(ClientUpdate, data)
    if body is None:
        field, msg = next(iter(errs.items()))
        return redirect(request, f"/admin/clients/{client_id}", f"Tax treatment not changed: {field}: {msg}")
    client = await client_service.get_client(session, client_id, for_update=True)
    _, error = await attempt(session, lambda: client_service.update_client(session, user, client, body))
    if error is not None:
        return redirect(request, f"/admin/clients/{client_id}", f"Tax treatment not changed: {error.detail}")
    return redirect(request, f"/admin/clients/{client_id}", f"Tax treatment: {body.tax_treatment}")
