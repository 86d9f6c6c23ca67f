"""The client's money in the portal (issue 14): invoices, credit notes, payments, statements, the
balance and its aging, and paying an invoice online through Stripe's hosted invoice page.

Read by client_admin and client_viewer alike, as the API lets both read them. Every lookup is the
client's own (billing/client_views.py): another tenant's object, a draft invoice or a credit note
not issued is a 404. Documents are the ones the API serves (billing/invoice_doc.py,
billing/statement_render.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import client_views as views
from billing import invoice_doc, statement_render
from billing import queries as billing_queries
from billing import run as billing_run
from billing.doc_kit import attachment
from billing.payment_schemas import METHOD_LABELS
from domain.models import Site
from domain.schemas import PERIOD_PATTERN
from domain.services import clients
from domain.services.lookup import get_or_404
from service.db import SessionDep
from service.portal.web import Client, render, tenant

router = APIRouter()

METHODS = dict(METHOD_LABELS) | {"stripe": "Stripe (online)"}


def stripe_on(request: Request) -> bool:
    return bool(request.app.state.settings.stripe_api_key)


def pay_link(url: str | None) -> str | None:
    """Stripe's hosted page, when it is a web address (never a javascript: or data: link)."""
    if not url or urlsplit(url).scheme not in ("https", "http"):
        return None
    return url


async def overview_cards(session: AsyncSession, client_id: uuid.UUID) -> dict[str, Any]:
    """The overview's balance card: per currency what is owed, of it overdue, and the credit held."""
    aging = await views.client_aging(session, client_id, date.today())
    overdue = {t["currency"]: t["total"] - t["current"] for t in aging["totals"]}
    return {"balances": await views.client_balance(session, client_id), "overdue_by_currency": overdue}


@router.get("/invoices", response_class=HTMLResponse)
async def invoices_page(
    request: Request,
    user: Client,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    client_id = tenant(user)
    return render(
        request,
        "portal/invoices.html",
        {
            "rows": await views.client_invoices(session, client_id, status=status),
            "status": status if status in views.VISIBLE_STATUSES else "",
            "statuses": views.VISIBLE_STATUSES,
            "balances": await views.client_balance(session, client_id),
            "aging": await views.client_aging(session, client_id, date.today()),
            "flash": request.query_params.get("flash"),
        },
    )


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_page(request: Request, invoice_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    client_id = tenant(user)
    inv = await views.readable_invoice(session, client_id, invoice_id)
    site = await get_or_404(session, Site, inv.site_id, "site")
    owed = await views.invoice_owed(session, inv)
    payable = inv.status in ("issued", "partially_paid") and owed > 0
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "inv": inv,
            "site": site,
            "client": await clients.get_client(session, client_id),
            "lines": await billing_queries.invoice_lines(session, inv.id),
            "notes": await views.client_credit_notes(session, client_id, invoice_id=inv.id),
            "payments": [p for p in await billing_queries.payments_of(session, inv.id) if p.status != "void"],
            "owed": owed,
            "payable": payable,
            "stripe_on": stripe_on(request),
            "pay_url": pay_link(inv.stripe_hosted_url) if payable else None,
            "methods": METHODS,
            "statement_period": (inv.issue_date or date.today()).strftime("%Y-%m"),
        },
    )


@router.get("/invoices/{invoice_id}/pdf", response_model=None)
async def invoice_pdf(invoice_id: uuid.UUID, user: Client, session: SessionDep) -> Response:
    """The invoice's own PDF, the one GET /v1/invoices/{id}/pdf serves the client."""
    inv = await views.readable_invoice(session, tenant(user), invoice_id)
    name, pdf = await invoice_doc.invoice_document(session, inv.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))


@router.get("/credit-notes", response_class=HTMLResponse)
async def credit_notes_page(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    rows = await views.client_credit_notes(session, tenant(user))
    return render(request, "portal/credit_notes.html", {"rows": rows})


@router.get("/credit-notes/{credit_note_id}", response_class=HTMLResponse)
async def credit_note_page(request: Request, credit_note_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    cn = await views.readable_credit_note(session, tenant(user), credit_note_id)
    inv = await views.readable_invoice(session, tenant(user), cn.invoice_id)
    site = await get_or_404(session, Site, cn.site_id, "site")
    return render(request, "portal/credit_note_detail.html", {"cn": cn, "inv": inv, "site": site})


@router.get("/credit-notes/{credit_note_id}/pdf", response_model=None)
async def credit_note_pdf(credit_note_id: uuid.UUID, user: Client, session: SessionDep) -> Response:
    """The credit note's own PDF, the one GET /v1/credit-notes/{id}/pdf serves the client."""
    cn = await views.readable_credit_note(session, tenant(user), credit_note_id)
    name, pdf = await invoice_doc.credit_note_document(session, cn.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))


@router.get("/payments", response_class=HTMLResponse)
async def payments_page(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    client_id = tenant(user)
    return render(
        request,
        "portal/payments.html",
        {
            "rows": await views.client_payments(session, client_id),
            "balances": await views.client_balance(session, client_id),
            "methods": METHODS,
        },
    )


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
async def payment_page(request: Request, payment_id: uuid.UUID, user: Client, session: SessionDep) -> HTMLResponse:
    p = await views.readable_payment(session, tenant(user), payment_id)
    return render(request, "portal/payment_detail.html", {"p": p, "methods": METHODS})


@router.get("/statements", response_class=HTMLResponse)
async def statements_page(request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    client_id = tenant(user)
    return render(
        request,
        "portal/statements.html",
        {
            "months": await views.statement_months(session, client_id, date.today()),
            "balances": await views.client_balance(session, client_id),
            "aging": await views.client_aging(session, client_id, date.today()),
        },
    )


Period = Annotated[str, Path(pattern=PERIOD_PATTERN)]


async def _statement(session: SessionDep, user: Client, period: str) -> dict[str, Any]:
    month = billing_run.parse_period(period)
    return await billing_queries.client_statement(session, tenant(user), month)


@router.get("/statements/{period}/pdf", response_model=None)
async def statement_pdf(period: Period, user: Client, session: SessionDep) -> Response:
    """The month's statement as GET /v1/clients/{id}/statements/{period}?format=pdf serves it."""
    st = await _statement(session, user, period)
    pdf = await asyncio.to_thread(statement_render.statement_pdf, st)  # reportlab is CPU work: off the event loop
    return Response(pdf, media_type="application/pdf", headers=attachment(statement_render.statement_filename(st, "pdf")))


@router.get("/statements/{period}/csv", response_model=None)
async def statement_csv(period: Period, user: Client, session: SessionDep) -> Response:
    """The month's statement as CSV (major units, the currency on every row), as the API's."""
    st = await _statement(session, user, period)
    return Response(
        statement_render.statement_csv(st),
        media_type="text/csv; charset=utf-8",
        headers=attachment(statement_render.statement_filename(st, "csv")),
    )
