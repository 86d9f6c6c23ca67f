"""Collections for finance: the overdue invoices with their reminders (and whether reminders go out at
all), the month's journal as CSV, and a client's exclusion from payment reminders. Every figure comes
from billing's read-models (billing/overdue.py, billing/journal.py) and every change from the client
use-case the API calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from billing import run as billing_run
from billing.db import driver
from billing.journal import journal_csv, journal_rows
from billing.overdue import overdue_page
from domain.models import Client
from domain.schemas import PERIOD_PATTERN
from domain.services import clients as client_svc
from domain.services.client_schemas import ClientUpdate
from domain.services.lookup import get_or_404
from service.admin.web import CsrfForm, Finance, redirect, render
from service.db import SessionDep

router = APIRouter()


@router.get("/collections", response_class=HTMLResponse)
async def collections_page(
    request: Request,
    user: Finance,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    cursor: uuid.UUID | None = None,
) -> HTMLResponse:
    """The overdue list (oldest due first), totals per currency, the reminders' state, the journal export."""
    settings = request.app.state.settings
    page = await overdue_page(
        await driver(session),
        settings.dunning(),
        client_id=client_id,
        currency=currency,
        cursor=str(cursor) if cursor else None,
        limit=100,
    )
    client = await get_or_404(session, Client, client_id, "client") if client_id else None
    return render(
        request,
        "collections.html",
        {
            "page": page,
            "client": client,
            "currency": currency or "",
            "flash": request.query_params.get("flash"),
            "last_month": (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
        },
    )


@router.get("/collections/journal", response_model=None)
async def journal_download(
    request: Request, user: Finance, session: SessionDep, period: Annotated[str, Query(pattern=PERIOD_PATTERN)]
) -> Response:
    """The same CSV as GET /v1/billing/journal?format=csv."""
    month = billing_run.parse_period(period)
    rows = await journal_rows(await driver(session), month, request.app.state.settings.chart_of_accounts())
    return Response(
        journal_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="journal-{period}.csv"'},
    )


@router.post("/clients/{client_id}/dunning", response_model=None)
async def set_dunning(request: Request, client_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    """Exclude a client from payment reminders, or include it again: PATCH /v1/clients/{id}'s use-case (audited)."""
    excluded = str(form.get("excluded") or "") == "true"
    client = await client_svc.get_client(session, client_id, for_update=True)
    await client_svc.update_client(session, user, client, ClientUpdate(dunning_excluded=excluded))
    flash = "Payment reminders are off for this client" if excluded else "Payment reminders are on for this client"
    return redirect(request, f"/admin/clients/{client_id}", flash)
