"""Billing routes: runs, invoices, credit notes, voids, statements, Stripe webhooks, AR aging, KPIs."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, FastAPI, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from billing import invoices as inv_service
from billing import reports as billing_reports
from billing import run as billing_run
from billing import statements, webhooks
from billing.db import driver
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.models.invoice import BillingRun, CreditNote, Invoice
from provisioning import kpis as provisioning_kpis
from service.api.deps import Cursor, Limit, QueryDate, paginate
from service.api.schemas import PERIOD_PATTERN, TEXT_PATTERN
from service.auth import FinanceUser, StaffOrFinance, TenantReader
from service.db import SessionDep
from service.errors import TYPE_BASE, problem
from service.idempotency import IdempotencyDep

logger = logging.getLogger("seatlease.billing")
router = APIRouter(prefix="/v1", tags=["billing"])

Period = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["2031-01"])]


class BillingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: Period


class BillingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    period: str
    status: str
    clients_total: int
    clients_done: int
    invoices_count: int
    credit_notes_count: int
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class InvoiceLineOut(BaseModel):
    id: uuid.UUID
    position: int
    kind: str
    trueup: bool
    lease_id: uuid.UUID | None
    description: str
    quantity: int
    unit_price_minor: int
    days: int | None
    period_days: int | None
    service_start: date | None
    service_end: date | None
    amount_minor: int
    tax_minor: int


class InvoiceOut(BaseModel):
    id: uuid.UUID
    number: str | None
    sequence: int | None
    client_id: uuid.UUID
    site_id: uuid.UUID
    period: str
    status: str
    currency: str
    issue_date: date | None
    due_date: date | None
    issued_at: datetime | None
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    paid_at: datetime | None
    payment_failed_at: datetime | None
    voided_at: datetime | None
    stripe_invoice_id: str | None
    stripe_state: str
    stripe_mismatch: bool
    lines: list[InvoiceLineOut] | None = None


class InvoicePage(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None = None


class CreditNoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)
    amount_minor: int | None = Field(
        default=None, gt=0, le=10**15, description="credit before tax; omit to credit the whole remaining invoice"
    )


class CreditNoteOut(BaseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    client_id: uuid.UUID
    number: str | None
    kind: str
    status: str
    reason: str
    currency: str
    amount_minor: int
    tax_minor: int
    total_minor: int
    issue_date: date | None
    stripe_credit_note_id: str | None


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="voided", min_length=1, max_length=500, pattern=TEXT_PATTERN)


@router.post("/billing/runs", status_code=202, response_model=BillingRunOut)
async def start_run(
    body: BillingRunCreate,
    user: FinanceUser,
    session: SessionDep,
    idem: IdempotencyDep,
    request: Request,
    background: BackgroundTasks,
) -> Any:
    """Start the run of a month. Seats are billed in advance: a month is accepted from
    `SEATLEASE_BILLING_ADVANCE_DAYS` (default 10) days before it starts, on the UTC calendar, and
    any past month; a month further ahead is a 422 naming `period`, and takes no invoice numbers."""
    created: list[uuid.UUID] = []

    async def make() -> BillingRunOut:
        run = await billing_run.create_run(
            session, user, body.period, advance_days=request.app.state.settings.billing_advance_days
        )
        created.append(run.id)
        return BillingRunOut.model_validate(run)

    response = await idem.run(session, str(user.subject), body, make, status_code=202)
    if created:
        # runs after the request's transaction committed; the worker resumes it if this process dies
        background.add_task(_execute, request.app, created[0])
    return response


async def _execute(app: FastAPI, run_id: uuid.UUID) -> None:
    settings = app.state.settings
    try:
        await billing_run.execute_run(
            app.state.sessionmaker, run_id, credit_threshold=settings.credit_note_approval_threshold_minor
        )
    except Exception:
        logger.exception("billing run %s failed", run_id)


@router.get("/billing/runs/{run_id}", response_model=BillingRunOut)
async def get_run(run_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> BillingRunOut:
    run = await session.get(BillingRun, run_id)
    if run is None:
        raise NotFound("billing run not found")
    return BillingRunOut.model_validate(run)


@router.get("/invoices", response_model=InvoicePage)
async def list_invoices(
    user: TenantReader,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    status: Literal["draft", "issued", "paid", "void"] | None = None,
    site_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> InvoicePage:
    if user.is_client:
        if client_id is not None and client_id != user.client_id:
            return InvoicePage(items=[])
        client_id = user.client_id
    _no_facility_staff(user)
    stmt = select(Invoice)
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    if period is not None:
        stmt = stmt.where(Invoice.period == period)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if site_id is not None:
        stmt = stmt.where(Invoice.site_id == site_id)
    rows, nxt = await paginate(session, stmt, Invoice.id, cursor, limit)
    return InvoicePage(items=[InvoiceOut(**inv_service.invoice_view(r)) for r in rows], next_cursor=nxt)


def _no_facility_staff(user: Any) -> None:
    """Invoices and statements are for finance (and admins) and for the client itself."""
    if user.role == "facility_staff":
        raise Forbidden("invoices and statements are read by finance and by the client")


async def _readable_invoice(session: Any, user: Any, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice:
    inv = await inv_service.get_invoice(session, invoice_id, for_update=for_update)
    user.require_client(inv.client_id, "invoice")
    _no_facility_staff(user)
    return inv


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(invoice_id: uuid.UUID, user: TenantReader, session: SessionDep) -> InvoiceOut:
    inv = await _readable_invoice(session, user, invoice_id)
    return InvoiceOut(**inv_service.invoice_view(inv, await inv_service.invoice_lines(session, inv.id)))


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=CreditNoteOut)
async def create_credit_note(
    invoice_id: uuid.UUID,
    body: CreditNoteCreate,
    user: FinanceUser,
    session: SessionDep,
    idem: IdempotencyDep,
    request: Request,
) -> Any:
    inv = await inv_service.get_invoice(session, invoice_id, for_update=True)
    threshold = request.app.state.settings.credit_note_approval_threshold_minor

    async def make() -> CreditNoteOut:
        cn = await inv_service.create_credit_note(
            session, user, inv, reason=body.reason, amount_minor=body.amount_minor, threshold_minor=threshold
        )
        return CreditNoteOut(**inv_service.credit_note_view(cn))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/invoices/{invoice_id}/credit-notes", response_model=list[CreditNoteOut])
async def list_credit_notes(invoice_id: uuid.UUID, user: TenantReader, session: SessionDep) -> list[CreditNoteOut]:
    inv = await _readable_invoice(session, user, invoice_id)
    rows = (
        await session.scalars(select(CreditNote).where(CreditNote.invoice_id == inv.id).order_by(CreditNote.created_at))
    ).all()
    return [CreditNoteOut(**inv_service.credit_note_view(c)) for c in rows]


@router.post("/credit-notes/{credit_note_id}/approve", response_model=CreditNoteOut)
async def approve_credit_note(credit_note_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> CreditNoteOut:
    cn = await inv_service.approve_credit_note(session, user, credit_note_id)
    return CreditNoteOut(**inv_service.credit_note_view(cn))


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(invoice_id: uuid.UUID, user: FinanceUser, session: SessionDep, body: VoidBody | None = None) -> InvoiceOut:
    inv = await inv_service.get_invoice(session, invoice_id, for_update=True)
    inv = await inv_service.void_invoice(session, user, inv, (body or VoidBody()).reason)
    await session.refresh(inv)
    return InvoiceOut(**inv_service.invoice_view(inv, await inv_service.invoice_lines(session, inv.id)))


@router.get(
    "/clients/{client_id}/statements/{period}",
    responses={200: {"content": {"application/json": {}, "text/csv": {}, "application/pdf": {}}}},
)
async def client_statement(
    client_id: uuid.UUID,
    period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
    user: TenantReader,
    session: SessionDep,
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[Literal["json", "csv", "pdf"] | None, Query()] = None,
) -> Response:
    """The month's statement as JSON, CSV or PDF (by `Accept`, or `?format=`)."""
    user.require_client(client_id, "client")
    _no_facility_staff(user)
    month = billing_run.parse_period(period)
    conn = await driver(session)
    if await conn.fetchval("SELECT 1 FROM clients WHERE id = $1", client_id) is None:
        raise NotFound("client not found")
    st = await statements.statement(conn, client_id, month)
    wanted = format or _negotiate(accept)
    name = f"statement-{period}-{client_id}"
    if wanted == "csv":
        return Response(
            statements.statement_csv(st),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if wanted == "pdf":
        return Response(
            statements.statement_pdf(st),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return JSONResponse(jsonable_encoder(st))


def _negotiate(accept: str | None) -> str:
    accept = (accept or "").lower()
    if "application/pdf" in accept:
        return "pdf"
    if "text/csv" in accept:
        return "csv"
    return "json"


class WebhookReceived(BaseModel):
    id: str
    state: str
    duplicate: bool


@router.post(
    "/billing/stripe/webhook",
    response_model=WebhookReceived,
    responses={400: {"description": "Bad signature or malformed event"}},
)
async def stripe_webhook(
    request: Request, session: SessionDep, stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None
) -> Any:
    """Signed Stripe events, stored and answered at once; the worker handles them from the stored row.
    A wrong or stale signature is a 400 and nothing is stored; a signed but malformed event is a 400
    naming the field, stored as rejected, and nothing is applied from it."""
    verifier = webhooks.Verifier(stripe_signature, request.app.state.settings.stripe_webhook_secret)
    async for chunk in request.stream():
        verifier.feed(chunk)
    received = await webhooks.receive(session, verifier.finish())
    if received.state == "rejected" and not received.duplicate:
        # a rendered problem, not a raised one: the rejected event is stored with this transaction
        return problem(
            400,
            webhooks.MalformedEvent.title,
            received.reason or "malformed event",
            type_=TYPE_BASE + webhooks.MalformedEvent.type_suffix,
            field=received.field,
            event=received.event_id,
        )
    return WebhookReceived(id=received.event_id, state=received.state, duplicate=received.duplicate)


@router.get("/reports/ar-aging")
async def ar_aging(user: StaffOrFinance, session: SessionDep, as_of: QueryDate | None = None) -> Any:
    """Receivables by client and currency in the buckets 0 (current) / 1–30 / 31–60 / 61–90 / 90+ days past due."""
    if as_of is not None and not date(2000, 1, 1) <= as_of <= date(2200, 12, 31):
        raise ValidationFailed("as_of is out of range", field="as_of")
    conn = await driver(session)
    return jsonable_encoder(await statements.ar_aging(conn, as_of or date.today()))


@router.get("/reports/kpis")
async def kpis(
    user: StaffOrFinance, session: SessionDep, period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None
) -> Any:
    """The facility's KPIs: billing figures here, provisioning's merged in."""
    conn = await driver(session)
    out: dict[str, Any] = {"billing": await billing_reports.billing_kpis(conn, period)}
    out["receivables_aging"] = (await statements.ar_aging(conn, date.today()))["totals"]
    out.update(await provisioning_kpis.kpis(session))
    return jsonable_encoder(out)


def install(app: FastAPI) -> None:
    app.include_router(router)
