"""One invoice for finance: its lines, totals, credit notes and payments, and the corrections of rule 7
(credit notes with the approval threshold, voids), done through billing's own invoice services."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import invoices as svc
from billing import queries as billing_queries
from billing.db import driver
from billing.payment_schemas import METHOD_LABELS
from billing.schemas import CreditNoteCreate, CreditNoteReject, VoidBody
from billing.settlement import figures
from domain.errors import NotFound
from domain.models import Client, Site
from domain.models.invoice import CreditNote
from domain.rules.money import format_money, minor_unit_exponent
from domain.services.lookup import get_or_404
from service.admin.web import CsrfForm, Finance, attempt, redirect, render, validate_form
from service.db import SessionDep
from service.idempotency import Idempotency

router = APIRouter()

# what the form calls a field, by the name billing's services and the API's schema use
FORM_FIELD = {"amount_minor": "amount"}


def parse_amount(text: str, currency: str) -> tuple[int | None, str | None]:
    """An amount typed in major units ("1,500.50") as integer minor units, or why it is not one."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if cleaned.upper().startswith(currency.upper()):
        cleaned = cleaned[len(currency) :]
    if not cleaned:
        return None, "enter the amount to credit, before tax"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, f"not an amount: type it like 1,500.00 ({currency})"
    if not value.is_finite():
        return None, f"not an amount: type it like 1,500.00 ({currency})"
    exp = minor_unit_exponent(currency)
    minor = value * (Decimal(10) ** exp)
    if minor != minor.to_integral_value():
        return None, f"{currency} has {exp} decimal places" if exp else f"{currency} has no decimal places"
    return int(minor), None


def _human(detail: str, currency: str) -> str:
    """Billing names amounts in minor units; the page shows them as money."""
    return re.sub(r"at most (\d+)", lambda m: "at most " + format_money(int(m.group(1)), currency) + " (before tax)", detail)


async def _page(
    request: Request,
    session: AsyncSession,
    invoice_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    confirm_void: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    inv = await svc.get_invoice(session, invoice_id)
    lines = await billing_queries.invoice_lines(session, inv.id)
    client = await get_or_404(session, Client, inv.client_id, "client")
    site = await get_or_404(session, Site, inv.site_id, "site")
    notes = await billing_queries.credit_notes_of(session, inv.id)
    payments = await billing_queries.payments_of(session, inv.id)
    emails = await billing_queries.emails_of(
        session,
        {c.created_by for c in notes}
        | {c.approved_by for c in notes}
        | {x.created_by for x in lines}
        | {c.rejected_by for c in notes},  # --- approvals (issue 13) ---
    )
    credited_amount, credited_tax = await svc.credited_so_far(session, inv.id)
    issued_credit = sum(c.total_minor for c in notes if c.status == "issued")
    pending_credit = sum(c.total_minor for c in notes if c.status == "pending_approval")
    paid = sum(p.amount_minor + p.withheld_minor for p in payments if p.status == "cleared")
    threshold = int(request.app.state.settings.credit_note_approval_threshold_minor)
    lease_ids = sorted({x.lease_id for x in lines if x.lease_id is not None}, key=str)
    # --- payments (issue 12): what a payment of this invoice may still take, net of the client's withholding ---
    fig = (await figures(await driver(session), [inv.id]))[inv.id]
    return render(
        request,
        "invoice_detail.html",
        {
            "inv": inv,
            "lines": lines,
            "client": client,
            "site": site,
            "notes": notes,
            "payments": payments,
            "emails": emails,
            "creditable": max(0, inv.subtotal_minor - credited_amount),
            "credited_tax": credited_tax,
            "issued_credit": issued_credit,
            "pending_credit": pending_credit,
            "paid": paid,
            "balance": inv.total_minor - issued_credit - paid if inv.status != "void" else 0,
            "threshold": threshold,
            "lease_ids": lease_ids,
            "fig": fig,
            "withholding_left": fig.withholding_left(client.withholding_rate),
            "methods": METHOD_LABELS,
            "today": datetime.now(ZoneInfo(site.timezone)).date().isoformat(),
            "can_credit": inv.status in ("issued", "partially_paid", "paid"),
            "can_void": inv.status == "issued" and not any(c.status != "rejected" for c in notes),
            "confirm_void": confirm_void,
            "errors": errors or {},
            "v": values or {},
            "form_key": secrets.token_urlsafe(18),
            "flash": request.query_params.get("flash"),
        },
        status_code=status_code,
    )


async def invoice_page_with(
    request: Request, session: AsyncSession, invoice_id: uuid.UUID, errors: dict[str, str], values: dict[str, Any]
) -> HTMLResponse:
    """The page again with a payment form's errors (service/admin/payments.py)."""
    return await _page(request, session, invoice_id, errors=errors, values=values, status_code=422)


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_page(request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep) -> HTMLResponse:
    """Finance and admins only, as GET /v1/invoices/{id}: facility staff get a 403."""
    return await _page(request, session, invoice_id, confirm_void=request.query_params.get("confirm") == "void")


@router.post("/invoices/{invoice_id}/credit-notes", response_model=None)
async def issue_credit_note(
    request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    """A partial (amount before tax) or whole credit note; above the threshold it waits for approval."""
    values = {k: str(v) for k, v in form.items()}
    inv = await svc.get_invoice(session, invoice_id, for_update=True)
    whole = values.get("credit_kind") == "whole"
    errors: dict[str, str] = {}
    amount_minor: int | None = None
    if not whole:
        amount_minor, problem = parse_amount(values.get("amount", ""), inv.currency)
        if problem:
            errors["amount"] = problem
    data = {"reason": values.get("reason", "").strip(), "amount_minor": amount_minor}
    body, errs = validate_form(CreditNoteCreate, data)
    for k, msg in errs.items():
        errors.setdefault(FORM_FIELD.get(k, k), msg)
    if not data["reason"]:
        errors["reason"] = "say why the invoice is credited (the client reads it on the credit note)"
    if errors or body is None:
        return await _page(request, session, invoice_id, errors=errors, values=values, status_code=422)
    reason = body.reason
    threshold = int(request.app.state.settings.credit_note_approval_threshold_minor)
    key = str(values.get("form_key") or "")[:100] or None

    async def make() -> dict[str, Any]:
        cn = await svc.create_credit_note(session, user, inv, reason=reason, amount_minor=amount_minor, threshold_minor=threshold)
        return {"status": cn.status, "number": cn.number_label, "total_minor": cn.total_minor}

    # a second click of the same form replays the first answer instead of crediting twice
    idem = Idempotency(request, f"admin-credit-note:{key}" if key else None)
    done, error = await attempt(session, lambda: idem.run(session, str(user.subject), {"invoice": str(inv.id), **data}, make))
    if error is not None:
        field = FORM_FIELD.get(error.field or "", error.field or "__all__")
        if field not in ("amount", "reason"):
            field = "__all__"
        return await _page(
            request, session, invoice_id, errors={field: _human(error.detail, inv.currency)}, values=values, status_code=422
        )
    result = json.loads(bytes(done.body))
    amount = format_money(int(result["total_minor"]), inv.currency)
    if result["status"] == "pending_approval":
        flash = f"Credit note of {amount} is waiting for approval (above {format_money(threshold, inv.currency)})"
    else:
        flash = f"Credit note {result['number']} issued: {amount}"
    return redirect(request, f"/admin/invoices/{invoice_id}", flash)


@router.post("/invoices/{invoice_id}/credit-notes/{credit_note_id}/approve", response_model=None)
async def approve_credit_note(
    request: Request, invoice_id: uuid.UUID, credit_note_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    cn = await session.get(CreditNote, credit_note_id)
    if cn is None or cn.invoice_id != invoice_id:
        raise NotFound("credit note not found")
    done, error = await attempt(session, lambda: svc.approve_credit_note(session, user, credit_note_id))
    if error is not None:
        return await _page(request, session, invoice_id, errors={"approve": error.detail}, status_code=409)
    return redirect(request, f"/admin/invoices/{invoice_id}", f"Credit note {done.number_label} approved and issued")


# --- approvals (issue 13): reject with a reason beside approve ---
@router.post("/invoices/{invoice_id}/credit-notes/{credit_note_id}/reject", response_model=None)
async def reject_credit_note(
    request: Request, invoice_id: uuid.UUID, credit_note_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    """The same use-case as POST /v1/credit-notes/{id}/reject: a reason is required and kept."""
    cn = await session.get(CreditNote, credit_note_id)
    if cn is None or cn.invoice_id != invoice_id:
        raise NotFound("credit note not found")
    values = {"reject_reason": str(form.get("reject_reason") or ""), "reject_for": str(credit_note_id)}
    body, errs = validate_form(CreditNoteReject, {"reason": values["reject_reason"].strip()})
    key = f"reject.{credit_note_id}"
    if body is None:
        reason_error = "say why it is rejected" if not values["reject_reason"].strip() else next(iter(errs.values()))
        return await _page(request, session, invoice_id, errors={key: reason_error}, values=values, status_code=422)
    _, error = await attempt(session, lambda: svc.reject_credit_note(session, user, credit_note_id, body.reason))
    if error is not None:
        return await _page(request, session, invoice_id, errors={key: error.detail}, values=values, status_code=error.status)
    return redirect(request, f"/admin/invoices/{invoice_id}", "Credit note rejected")


@router.post("/invoices/{invoice_id}/void", response_model=None)
async def void_invoice(request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """Two steps: without `confirm=yes` the page asks first; nothing changes until it is confirmed."""
    values = {k: str(v) for k, v in form.items()}
    inv = await svc.get_invoice(session, invoice_id, for_update=True)
    if values.get("confirm") != "yes":
        return await _page(request, session, invoice_id, values=values, confirm_void=True)
    data = {"reason": values.get("void_reason", "").strip() or "voided"}
    body, errs = validate_form(VoidBody, data)
    if errs or body is None:
        return await _page(
            request,
            session,
            invoice_id,
            errors={"void_reason": next(iter(errs.values()), "invalid")},
            values=values,
            confirm_void=True,
            status_code=422,
        )
    reason = body.reason
    _, error = await attempt(session, lambda: svc.void_invoice(session, user, inv, reason))
    if error is not None:
        await session.refresh(inv)
        return await _page(
            request,
            session,
            invoice_id,
            errors={"void_reason": error.detail},
            values=values,
            confirm_void=True,
            status_code=error.status,
        )
    return redirect(request, f"/admin/invoices/{invoice_id}", f"Invoice {inv.number_label} voided")
