"""Payments in the admin (issue 12), for finance: record a payment from the client's page (oldest due
first, chosen invoices, or all as credit) or from an invoice's page (to that invoice), void one, apply
or refund a client's credit, set its withholding rate, mark certificates received, and the report of
the missing certificates. Every action is billing's own use-case; forms are checked by the API's schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import invoices as inv_svc
from billing import payment_queries as q
from billing import payments as svc
from billing.db import driver
from billing.payment_schemas import CertificateCreate, CreditApply, PaymentCreate, PaymentVoid, RefundCreate
from domain.errors import DomainError, NotFound
from domain.rules.money import format_money, minor_unit_exponent
from domain.services import clients as client_svc
from domain.services.client_schemas import ClientUpdate
from service.admin import invoices as invoice_pages
from service.admin import people
from service.admin.confirm import AskField, confirm_page, is_confirmed
from service.admin.invoices import parse_amount
from service.admin.web import CsrfForm, Finance, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()


def _today() -> str:
    return datetime.now(ZoneInfo("Asia/Manila")).date().isoformat()


async def _client_page(
    request: Request, session: AsyncSession, client_id: uuid.UUID, errors: dict[str, str], values: dict[str, Any]
) -> HTMLResponse:
    return await people.client_page_with(request, session, client_id, errors=errors, values=values, status_code=422)


def _form_error(error: DomainError, alloc_names: list[str]) -> dict[str, str]:
    """A use-case's field ("allocations[1].amount_minor") as the form's field ("alloc-<invoice id>")."""
    field = error.field or "__all__"
    if field.startswith("allocations["):
        n = int(field[len("allocations[") : field.index("]")])
        if n < len(alloc_names):
            return {f"pay.alloc.{alloc_names[n]}": error.detail}
    names = {"amount_minor": "pay.amount", "paid_on": "pay.paid_on", "currency": "pay.currency", "allocations": "pay.amount"}
    return {names.get(field, "pay.__all__"): error.detail}


def _payment_form(
    values: dict[str, str], client_id: uuid.UUID, invoice: Any | None
) -> tuple[PaymentCreate | None, dict[str, str], list[str]]:
    """The record-payment form as the API's body: amounts typed in major units."""
    currency = values.get("currency") or (invoice.currency if invoice else "PHP")
    errors: dict[str, str] = {}
    amount, problem = parse_amount(values.get("amount", ""), currency)
    if problem:
        errors["pay.amount"] = problem.replace("to credit, before tax", "received")
    allocations: list[dict[str, Any]] | None = None
    names: list[str] = []
    mode = values.get("allocate", "oldest")
    if invoice is not None:
        allocations = [{"invoice_id": str(invoice.id), "amount_minor": amount or 0}]
        names = [str(invoice.id)]
    elif mode == "none":
        allocations = []
    elif mode == "chosen":
        allocations = []
        for key, text in values.items():
            if key.startswith("alloc.") and text.strip():
                inv_id = key[len("alloc.") :]
                minor, why = parse_amount(text, currency)
                if why:
                    errors[f"pay.alloc.{inv_id}"] = why.replace("to credit, before tax", "to allocate")
                else:
                    allocations.append({"invoice_id": inv_id, "amount_minor": minor})
                    names.append(inv_id)
        if not allocations and not errors:
            errors["pay.amount"] = "type an amount next to each invoice it pays, or choose oldest due first"
    data = {
        "client_id": str(client_id),
        "method": values.get("method", ""),
        "amount_minor": amount,
        "currency": currency,
        "paid_on": values.get("paid_on", ""),
        "reference": values.get("reference", "").strip(),
        "allocations": allocations,
    }
    body, errs = validate_form(PaymentCreate, data)
    for k, msg in errs.items():
        errors.setdefault({"amount_minor": "pay.amount", "allocations": "pay.amount"}.get(k, f"pay.{k}"), msg)
    return (None if errors else body), errors, names


@router.post("/clients/{client_id}/payments", response_model=None)
async def record_for_client(
    request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    """Record a payment: oldest due first, to the invoices chosen, or all as credit."""
    await client_svc.get_client(session, client_id)
    values = {k: str(v) for k, v in form.items()}
    body, errors, names = _payment_form(values, client_id, None)
    if body is not None:
        payment_id, error = await attempt(session, lambda: svc.record_payment(session, user, body))
        if error is None:
            return redirect(request, f"/admin/clients/{client_id}", await _recorded(session, body, payment_id))
        errors = _form_error(error, names)
    return await _client_page(request, session, client_id, errors, {f"pay.{k}": v for k, v in values.items()})


async def _recorded(session: AsyncSession, body: PaymentCreate, payment_id: uuid.UUID) -> str:
    row = await q.payment(await driver(session), payment_id)
    held = " (a cheque held until its date)" if row is not None and row["status"] == "held" else ""
    return f"Payment of {format_money(body.amount_minor, body.currency)} recorded{held}"


@router.post("/invoices/{invoice_id}/payments", response_model=None)
async def record_for_invoice(
    request: Request, invoice_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    """Record a payment of this invoice (the client's withholding, if any, recognised when the amount
    is short by exactly it)."""
    inv = await inv_svc.get_invoice(session, invoice_id)
    values = {k: str(v) for k, v in form.items()}
    body, errors, names = _payment_form({**values, "currency": inv.currency}, inv.client_id, inv)
    if body is not None:
        payment_id, error = await attempt(session, lambda: svc.record_payment(session, user, body))
        if error is None:
            return redirect(request, f"/admin/invoices/{invoice_id}", await _recorded(session, body, payment_id))
        errors = _form_error(error, names)
    errors = {("pay.amount" if k.startswith("pay.alloc.") else k): v for k, v in errors.items()}
    return await invoice_pages.invoice_page_with(request, session, invoice_id, errors, {f"pay.{k}": v for k, v in values.items()})


@router.post("/payments/{payment_id}/void", response_model=None)
async def void(request: Request, payment_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    conn = await driver(session)
    client_id = await q.payment_client(conn, payment_id)
    if client_id is None:
        raise NotFound("payment not found")
    back = str(form.get("back") or "")
    url = back if back.startswith("/admin/") and not back.startswith("//") else f"/admin/clients/{client_id}"
    body, errs = validate_form(PaymentVoid, {"reason": str(form.get("reason") or "").strip()})
    if body is None and not str(form.get("reason") or "").strip():
        errs = {"reason": "say why it is voided"}
    # --- console (issue 13): a void asks first, with its reason, on a page of its own ---
    if not is_confirmed(form) or body is None:
        return confirm_page(
            request,
            title="Void a payment",
            question="Void this payment?",
            consequences=[
                "What it paid is owed again: the invoices it settled go back to unpaid (or partly paid).",
                "It stays listed as void with its reason; record the payment again if it was only entered wrong.",
            ],
            action=f"/admin/payments/{payment_id}/void",
            back=url,
            button="Void the payment",
            ask=[AskField("reason", "Reason", str(form.get("reason") or ""), help="bounced, recorded twice, wrong client…")],
            carry={"back": url},
            errors={"reason": next(iter(errs.values()))} if body is None and is_confirmed(form) else None,
            status_code=422 if body is None and is_confirmed(form) else 200,
        )
    _, error = await attempt(session, lambda: svc.void_payment(session, user, payment_id, body.reason))
    return redirect(request, url, f"Not voided: {error.detail}" if error else "Payment voided: what it paid is owed again")


@router.post("/clients/{client_id}/credit/apply", response_model=None)
async def apply_credit(request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    await client_svc.get_client(session, client_id)
    body, errs = validate_form(CreditApply, {"currency": str(form.get("currency") or "")})
    if body is None:
        return redirect(request, f"/admin/clients/{client_id}", f"Credit not applied: {next(iter(errs.values()))}")
    plan, error = await attempt(session, lambda: svc.apply_credit(session, user, client_id, body))
    if error is not None:
        return redirect(request, f"/admin/clients/{client_id}", f"Credit not applied: {error.detail}")
    applied = sum(a.amount_minor for a in plan)
    msg = f"{format_money(applied, body.currency)} of credit applied" if plan else "No credit to apply, or nothing open"
    return redirect(request, f"/admin/clients/{client_id}", msg)


@router.post("/clients/{client_id}/credit-refunds", response_model=None)
async def refund(request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    await client_svc.get_client(session, client_id)
    values = {k: str(v) for k, v in form.items()}
    currency = values.get("currency", "PHP")
    amount, problem = parse_amount(values.get("amount", ""), currency)
    errors = {"refund.amount": problem.replace("to credit, before tax", "to refund")} if problem else {}
    body, errs = validate_form(
        RefundCreate,
        {
            "currency": currency,
            "amount_minor": amount,
            "method": values.get("method", "bank_transfer"),
            "reference": values.get("reference", ""),
        },
    )
    for k, msg in errs.items():
        errors.setdefault("refund.amount" if k == "amount_minor" else f"refund.{k}", msg)
    if body is not None and not errors:
        _, error = await attempt(session, lambda: svc.refund_credit(session, user, client_id, body))
        if error is None:
            return redirect(
                request, f"/admin/clients/{client_id}", f"Refund of {format_money(body.amount_minor, currency)} recorded"
            )
        errors = {"refund.amount": error.detail}
    return await _client_page(request, session, client_id, errors, {f"refund.{k}": v for k, v in values.items()})


@router.post("/clients/{client_id}/withholding", response_model=None)
async def set_rate(request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """The client's withholding rate, typed as a percentage (5 = 5%)."""
    client = await client_svc.get_client(session, client_id, for_update=True)
    text = str(form.get("withholding_pct") or "").strip().rstrip("%").strip() or "0"
    try:
        rate = format((Decimal(text) / 100).normalize(), "f")
    except ArithmeticError:
        rate = "x"
    body, _ = validate_form(ClientUpdate, {"withholding_rate": rate})
    if body is None:
        return await _client_page(
            request,
            session,
            client_id,
            {"withholding_pct": "a percentage below 100 with at most 2 decimals, e.g. 5"},
            {"withholding_pct": text},
        )
    await client_svc.update_client(session, user, client, body)
    return redirect(request, f"/admin/clients/{client_id}", f"Withholding rate set to {text}%")


@router.post("/clients/{client_id}/withholding-certificates", response_model=None)
async def record_certificate(
    request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    await client_svc.get_client(session, client_id)
    values = {k: str(v).strip() for k, v in form.items()}
    body, errs = validate_form(
        CertificateCreate,
        {
            "year": values.get("year"),
            "quarter": values.get("quarter"),
            "received_on": values.get("received_on"),
            "reference": values.get("reference", ""),
        },
    )
    errors = {f"cert.{k}": v for k, v in errs.items()}
    if body is not None:
        _, error = await attempt(session, lambda: svc.record_certificate(session, user, client_id, body))
        if error is None:
            back = "/admin/billing/withholding" if values.get("back") == "report" else f"/admin/clients/{client_id}"
            return redirect(request, back, f"Certificate for {body.year} Q{body.quarter} recorded")
        errors = {f"cert.{error.field or 'quarter'}": error.detail}
    return await _client_page(request, session, client_id, errors, {f"cert.{k}": v for k, v in values.items()})


@router.get("/billing/withholding", response_class=HTMLResponse)
async def withholding_report(request: Request, user: Finance, session: SessionDep) -> HTMLResponse:
    """Clients and quarters with tax withheld and no certificate yet."""
    rows = await q.missing_certificates(await driver(session))
    return render(request, "withholding.html", {"rows": rows, "today": _today(), "flash": request.query_params.get("flash")})


@router.get("/billing/withholding.csv", response_model=None)
async def withholding_csv(user: Finance, session: SessionDep) -> Response:
    rows = await q.missing_certificates(await driver(session))
    return Response(
        q.missing_certificates_csv(rows, minor_unit_exponent),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="withholding-certificates-missing.csv"'},
    )
