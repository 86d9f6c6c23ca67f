"""Billing pages for finance: start a monthly run and watch it, invoices and credit notes, statements.
Shown only when the billing part is installed; every figure and action comes from that part."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from domain.errors import NotFound
from domain.models import Client, Site
from service.admin import integrations
from service.admin.web import CsrfForm, Finance, attempt, redirect, render
from service.db import SessionDep

router = APIRouter()
logger = logging.getLogger("seatlease.admin")


def models() -> tuple[Any, Any, Any, Any] | None:
    names = ("Invoice", "InvoiceLine", "BillingRun", "CreditNote")
    found = [integrations.attr("domain.models.invoice", n) for n in names]
    if any(x is None for x in found) or not integrations.billing_available():
        return None
    return found[0], found[1], found[2], found[3]


def _required() -> tuple[Any, Any, Any, Any]:
    m = models()
    if m is None:
        raise NotFound("billing is not installed")
    return m


async def lease_invoices(session: AsyncSession, lease_id: uuid.UUID) -> list[Any] | None:
    m = models()
    if m is None:
        return None
    invoice, line, _, _ = m
    return list(
        (
            await session.scalars(
                select(invoice)
                .where(invoice.id.in_(select(line.invoice_id).where(line.lease_id == lease_id)))
                .order_by(invoice.period.desc())
            )
        ).all()
    )


async def aging(session: AsyncSession, today: date) -> dict[str, Any] | None:
    ar_aging = integrations.attr("billing.statements", "ar_aging")
    driver = integrations.attr("billing.db", "driver")
    if ar_aging is None or driver is None:
        return None
    result: dict[str, Any] = await ar_aging(await driver(session), today)
    return result


async def dashboard_figures(session: AsyncSession, today: date) -> dict[str, Any] | None:
    """Invoiced this month (per currency) and AR aging (billing's own report)."""
    m = models()
    if m is None:
        return None
    invoice = m[0]
    out: dict[str, Any] = {}
    try:
        async with session.begin_nested():
            first = today.replace(day=1)
            out["invoiced"] = (
                await session.execute(
                    select(invoice.currency, func.sum(invoice.total_minor), func.count())
                    .where(invoice.status.in_(("issued", "paid")), invoice.issue_date >= first, invoice.issue_date <= today)
                    .group_by(invoice.currency)
                    .order_by(invoice.currency)
                )
            ).all()
            out["aging"] = await aging(session, today)
    except Exception:
        logger.warning("admin: finance figures failed", exc_info=True)
        out["error"] = "finance figures are unavailable right now"
    return out


@router.get("/billing", response_class=HTMLResponse)
async def billing_page(
    request: Request, user: Finance, session: SessionDep, period: Annotated[str | None, Query(max_length=7)] = None
) -> HTMLResponse:
    invoice, _, run, credit_note = _required()
    runs = (await session.scalars(select(run).order_by(run.created_at.desc()).limit(8))).all()
    stmt = (
        select(invoice, Client.legal_name, Site.code)
        .join(Client, Client.id == invoice.client_id)
        .join(Site, Site.id == invoice.site_id)
    )
    if period:
        stmt = stmt.where(invoice.period == period)
    invoices = (await session.execute(stmt.order_by(invoice.period.desc(), invoice.number_label).limit(200))).all()
    notes = (
        await session.execute(
            select(credit_note, Client.legal_name)
            .join(Client, Client.id == credit_note.client_id)
            .order_by(credit_note.created_at.desc())
            .limit(50)
        )
    ).all()
    today = datetime.now(UTC).date()
    return render(
        request,
        "billing.html",
        {
            "runs": runs,
            "invoices": invoices,
            "notes": notes,
            "flash": request.query_params.get("flash"),
            "errors": {},
            "v": {"period": period or today.strftime("%Y-%m")},
            "period": period or "",
            "aging": await aging(session, today),
            "today": today,
        },
    )


@router.get("/billing/runs/{run_id}", response_class=HTMLResponse)
async def run_progress(request: Request, run_id: uuid.UUID, user: Finance, session: SessionDep) -> HTMLResponse:
    row = await session.get(_required()[2], run_id)
    if row is None:
        raise NotFound("billing run not found")
    return render(request, "_run_progress.html", {"run": row})


@router.post("/billing/runs", response_model=None)
async def start_run(request: Request, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """The same as POST /v1/billing/runs: record the run, then execute it after this transaction commits
    (the worker resumes it if this process stops)."""
    _required()
    create_run = integrations.attr("billing.run", "create_run")
    execute = integrations.attr("service.api.billing", "_execute")
    period = str(form.get("period") or "").strip()
    advance_days = request.app.state.settings.billing_advance_days
    run, error = await attempt(session, lambda: create_run(session, user, period, advance_days=advance_days))
    if error is not None:
        return redirect(request, "/admin/billing", f"Run not started: {error.detail}")
    response = redirect(request, "/admin/billing", f"Billing run for {run.period} started")
    if execute is not None:
        response.background = BackgroundTask(execute, request.app, run.id)
    return response


@router.post("/billing/credit-notes/{credit_note_id}/approve", response_model=None)
async def approve_credit_note(
    request: Request, credit_note_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm
) -> Response:
    _required()
    approve = integrations.attr("billing.invoices", "approve_credit_note")
    _, error = await attempt(session, lambda: approve(session, user, credit_note_id))
    return redirect(request, "/admin/billing", f"Not approved: {error.detail}" if error else "Credit note issued")


@router.get("/billing/statements/{client_id}/{period}.{fmt}", response_model=None)
async def statement(client_id: uuid.UUID, period: str, fmt: str, user: Finance, session: SessionDep) -> Response:
    """A client's monthly statement as PDF or CSV, from billing's own statement builder."""
    _required()
    if fmt not in ("pdf", "csv"):
        raise NotFound("statements are pdf or csv")
    statements = integrations.module("billing.statements")
    parse_period = integrations.attr("billing.run", "parse_period")
    driver = integrations.attr("billing.db", "driver")
    if statements is None or parse_period is None or driver is None:
        raise NotFound("statements are not installed")
    month = parse_period(period)
    if await session.get(Client, client_id) is None:
        raise NotFound("client not found")
    st = await statements.statement(await driver(session), client_id, month)
    name = f"statement-{period}-{client_id}"
    if fmt == "csv":
        return Response(
            statements.statement_csv(st),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        statements.statement_pdf(st),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
