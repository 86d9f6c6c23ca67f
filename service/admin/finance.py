"""Billing pages for finance: queue a monthly run and watch it, invoices and credit notes, statements.
Every figure comes from billing's read-models and every action from billing's use-cases."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import invoices as billing_invoices
from billing import queries as billing_queries
from billing import statement_render
from billing.doc_kit import attachment
from billing.run import create_run, parse_period
from domain.errors import NotFound
from domain.models import Client
from domain.models.invoice import BillingRun, Invoice
from domain.services.lookup import get_or_404
from service.admin.web import CsrfForm, Finance, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()
logger = logging.getLogger("seatlease.admin")


async def lease_invoices(session: AsyncSession, lease_id: uuid.UUID) -> list[Invoice] | None:
    return await billing_queries.invoices_of_lease(session, lease_id)


async def dashboard_figures(session: AsyncSession, today: date) -> dict[str, Any] | None:
    """Invoiced this month (per currency) and AR aging (billing's own report)."""
    out: dict[str, Any] = {}
    try:
        async with session.begin_nested():
            out["invoiced"] = await billing_queries.invoiced_this_month(session, today)
            out["aging"] = await billing_queries.ar_aging(session, today)
    except Exception:
        logger.warning("admin: finance figures failed", exc_info=True)
        out["error"] = "finance figures are unavailable right now"
    return out


@router.get("/billing", response_class=HTMLResponse)
async def billing_page(
    request: Request, user: Finance, session: SessionDep, period: Annotated[str | None, Query(max_length=7)] = None
) -> HTMLResponse:
    today = datetime.now(UTC).date()
    return render(
        request,
        "billing.html",
        {
            "runs": await billing_queries.recent_runs(session),
            "invoices": await billing_queries.invoice_list(session, period),
            "notes": await billing_queries.recent_credit_notes(session),
            "flash": request.query_params.get("flash"),
            "errors": {},
            "v": {"period": period or today.strftime("%Y-%m")},
            "period": period or "",
            "aging": await billing_queries.ar_aging(session, today),
            "today": today,
        },
    )


@router.get("/billing/runs/{run_id}", response_class=HTMLResponse)
async def run_progress(request: Request, run_id: uuid.UUID, user: Finance, session: SessionDep) -> HTMLResponse:
    run = await get_or_404(session, BillingRun, run_id, "billing run")
    return render(request, "_run_progress.html", {"run": run})


@router.post("/billing/runs", response_model=None)
async def start_run(request: Request, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """The same as POST /v1/billing/runs: queue the run; a worker claims and bills it."""
    period = str(form.get("period") or "").strip()
    advance_days = request.app.state.settings.billing_advance_days
    run, error = await attempt(session, lambda: create_run(session, user, period, advance_days=advance_days))
    if error is not None:
        return redirect(request, "/admin/billing", f"Run not started: {error.detail}")
    return redirect(request, "/admin/billing", f"Billing run for {run.period} started")


@router.post("/billing/credit-notes/{credit_note_id}/approve", response_model=None)
async def approve_credit_note(
    request: Request, credit_note_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    _, error = await attempt(session, lambda: billing_invoices.approve_credit_note(session, user, credit_note_id))
    return redirect(request, "/admin/billing", f"Not approved: {error.detail}" if error else "Credit note issued")


@router.get("/billing/statements/{client_id}/{period}.{fmt}", response_model=None)
async def statement(client_id: uuid.UUID, period: str, fmt: str, user: Finance, session: SessionDep) -> Response:
    """A client's monthly statement as PDF or CSV, from billing's own statement builder."""
    if fmt not in ("pdf", "csv"):
        raise NotFound("statements are pdf or csv")
    month = parse_period(period)
    await get_or_404(session, Client, client_id, "client")
    st = await billing_queries.client_statement(session, client_id, month)
    if fmt == "csv":
        return Response(
            statement_render.statement_csv(st),
            media_type="text/csv; charset=utf-8",
            headers=attachment(statement_render.statement_filename(st, "csv")),
        )
    return Response(
        statement_render.statement_pdf(st),
        media_type="application/pdf",
        headers=attachment(statement_render.statement_filename(st, "pdf")),
    )
