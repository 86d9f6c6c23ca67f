"""Collections for finance: the month's journal export and the overdue invoices (with their reminders)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from billing import run as billing_run
from billing.db import driver
from billing.journal import JOURNAL_HEADER, journal_csv, journal_rows, totals_by_currency
from billing.overdue import OverduePage, overdue_page
from domain.schemas import PERIOD_PATTERN
from service.api.deps import CSV_CONTENT, Cursor, Limit
from service.auth import FinanceUser
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["collections"])


class JournalTotal(BaseModel):
    currency: str
    debit_minor: int
    credit_minor: int


class JournalLineOut(BaseModel):
    date: date
    entry: str = Field(description='what the entry records, e.g. "invoice MNL-000123", "payment cheque for MNL-000123"')
    account_code: str = Field(description="the account's code in the chart of accounts (SEATLEASE_CHART_OF_ACCOUNTS)")
    account: str = Field(description="the account's name, with the client's name or the site's code after a colon")
    currency: str
    debit_minor: int
    credit_minor: int
    reference: str = Field(description="the document's number, or the payment's reference")


class JournalOut(BaseModel):
    period: str
    columns: list[str] = Field(description="the CSV's columns, in order")
    lines: list[JournalLineOut]
    totals: list[JournalTotal] = Field(description="per currency; debits equal credits in each")


@router.get(
    "/billing/journal",
    response_model=JournalOut,
    responses={200: {"content": {"application/json": {}, **CSV_CONTENT}}},
    summary="The month's double-entry journal",
    description="Roles: admin, finance. The month's journal (`period` YYYY-MM) posted to the chart of accounts "
    "(setting SEATLEASE_CHART_OF_ACCOUNTS): invoices, voids, credit notes, cleared payments by method (the "
    "unallocated rest as customer credit), credit applied later, tax withheld, refunds of credit. Each line "
    "carries its currency; the journal balances to zero per currency. CSV (`Accept: text/csv` or "
    "`?format=csv`, amounts in minor units) or JSON.",
)
async def journal(
    user: FinanceUser,
    session: SessionDep,
    request: Request,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="YYYY-MM")],
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> Response:
    month = billing_run.parse_period(period)
    rows = await journal_rows(await driver(session), month, request.app.state.settings.chart_of_accounts())
    if (format or ("csv" if "text/csv" in (accept or "").lower() else "json")) == "csv":
        return Response(
            journal_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="journal-{period}.csv"'},
        )
    out = JournalOut(
        period=period,
        columns=JOURNAL_HEADER,
        lines=[JournalLineOut(**r._asdict()) for r in rows],
        totals=[JournalTotal(currency=c, debit_minor=d, credit_minor=k) for c, (d, k) in totals_by_currency(rows).items()],
    )
    return JSONResponse(jsonable_encoder(out))


@router.get(
    "/billing/overdue",
    response_model=OverduePage,
    summary="Overdue invoices and their reminders",
    description="Roles: admin, finance. Open invoices past their due date (on their site's calendar), oldest due "
    "first: days overdue, amount outstanding after cleared payments, tax withheld and credit notes, reminders sent "
    "(the last one's time and step) and the next one due; `totals` per currency over the whole filter. "
    "`reminders` says whether payment reminders go out (SEATLEASE_DUNNING_DAYS; without SMTP settings nothing "
    "is sent).",
)
async def overdue(
    user: FinanceUser,
    session: SessionDep,
    request: Request,
    client_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> OverduePage:
    return await overdue_page(
        await driver(session),
        request.app.state.settings.dunning(),
        client_id=client_id,
        site_id=site_id,
        currency=currency,
        cursor=cursor,
        limit=limit,
    )
