"""Billing routes: runs, invoices, credit notes, voids, statements, Stripe webhooks, AR aging, KPIs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from billing import client_views, statement_render, webhooks
from billing import invoices as inv_service
from billing import queries as billing_queries
from billing import run as billing_run
from billing.doc_kit import attachment
from billing.read_models import BillingRunOut, CreditNoteOut, InvoiceOut, InvoicePage
from billing.schemas import BillingRunCreate, CreditNoteCreate, CreditNoteReject, VoidBody
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.models import Client
from domain.models.invoice import BillingRun, Invoice
from domain.schemas import PERIOD_PATTERN
from domain.services.lookup import get_or_404
from provisioning import kpis as provisioning_kpis
from service.api import invoice_drafts
from service.api.deps import CSV_CONTENT, PDF_CONTENT, Cursor, Limit, QueryDate
from service.auth import PUBLIC, FinanceUser, Principal, StaffOrFinance, TenantReader
from service.db import SessionDep
from service.errors import TYPE_BASE, problem
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["billing"])


@router.post("/billing/runs", status_code=202, response_model=BillingRunOut)
async def start_run(
    body: BillingRunCreate, user: FinanceUser, session: SessionDep, idem: IdempotencyDep, request: Request
) -> Any:
    """Queue the run of a month; a worker claims and bills it. Seats are billed in advance: a month is
    accepted from `SEATLEASE_BILLING_ADVANCE_DAYS` (default 10) days before it starts, on the UTC
    calendar, and any past month; a month further ahead is a 422 naming `period`, and takes no invoice numbers."""

    async def make() -> BillingRunOut:
        run = await billing_run.create_run(
            session, user, body.period, advance_days=request.app.state.settings.billing_advance_days
        )
        return BillingRunOut.model_validate(run)

    return await idem.run(session, str(user.subject), body, make, status_code=202)


@router.get("/billing/runs/{run_id}", response_model=BillingRunOut)
async def get_run(run_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> BillingRunOut:
    """A billing run's progress and totals (poll it after POST /v1/billing/runs)."""
    return BillingRunOut.model_validate(await get_or_404(session, BillingRun, run_id, "billing run"))


@router.get("/invoices", response_model=InvoicePage)
async def list_invoices(
    user: TenantReader,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    status: Literal["draft", "issued", "partially_paid", "paid", "void"] | None = None,
    site_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> InvoicePage:
    """Invoices, newest issue date first (then by id; drafts, not issued yet, before them), filtered by
    client, period, status and site. Staff and finance see all; a client its own (never a draft). Paged
    on (issue date, id): invoices issued between pages are neither skipped nor repeated."""
    if user.is_client:
        if client_id is not None and client_id != user.client_id:
            return InvoicePage(items=[])
        client_id = user.client_id
        if status == "draft":  # a draft is finance's until it is issued
            return InvoicePage(items=[])
    _no_facility_staff(user)
    where = billing_queries.InvoiceFilter(
        client_id=client_id, period=period, status=status, site_id=site_id, issued_only=user.is_client
    )
    rows, nxt = await billing_queries.invoice_page(session, where, cursor, limit)
    return InvoicePage(items=[InvoiceOut.of(r) for r in rows], next_cursor=nxt)


def _no_facility_staff(user: Any) -> None:
    """Invoices and statements are for finance (and admins) and for the client itself."""
    if user.role == "facility_staff":
        raise Forbidden("invoices and statements are read by finance and by the client")


async def _readable_invoice(session: Any, user: Any, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice:
    inv = await inv_service.get_invoice(session, invoice_id, for_update=for_update)
    user.require_client(inv.client_id, "invoice")
    _no_facility_staff(user)
    if user.is_client and not client_views.client_sees_invoice(inv.status):
        raise NotFound("invoice not found")  # a draft is finance's until it is issued
    return inv


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
async def get_invoice(invoice_id: uuid.UUID, user: TenantReader, session: SessionDep) -> InvoiceOut:
    """One invoice with its lines. Another tenant's invoice is 404; a draft is 404 to a client."""
    inv = await _readable_invoice(session, user, invoice_id)
    return InvoiceOut.of(inv, await billing_queries.invoice_lines(session, inv.id))


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=CreditNoteOut)
async def create_credit_note(
    invoice_id: uuid.UUID,
    body: CreditNoteCreate,
    user: FinanceUser,
    session: SessionDep,
    idem: IdempotencyDep,
    request: Request,
) -> Any:
    """Credit part or all of an issued invoice with a `reason`; above the approval threshold
    (SEATLEASE_CREDIT_APPROVAL_MINOR) it waits for approval. Audited."""
    inv = await inv_service.get_invoice(session, invoice_id, for_update=True)
    threshold = request.app.state.settings.credit_note_approval_threshold_minor

    async def make() -> CreditNoteOut:
        cn = await inv_service.create_credit_note(
            session, user, inv, reason=body.reason, amount_minor=body.amount_minor, threshold_minor=threshold
        )
        return CreditNoteOut.model_validate(cn)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/invoices/{invoice_id}/credit-notes", response_model=list[CreditNoteOut])
async def list_credit_notes(invoice_id: uuid.UUID, user: TenantReader, session: SessionDep) -> list[CreditNoteOut]:
    """The credit notes of an invoice: every one to finance, only the issued ones to the client (one
    waiting for approval or rejected is finance's business). Another tenant's invoice is 404."""
    inv = await _readable_invoice(session, user, invoice_id)
    notes = await billing_queries.credit_notes_of(session, inv.id)
    if user.is_client:
        notes = [c for c in notes if client_views.client_sees_credit_note(c.status)]
    return [CreditNoteOut.model_validate(c) for c in notes]


@router.post("/credit-notes/{credit_note_id}/approve", response_model=CreditNoteOut)
async def approve_credit_note(credit_note_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> CreditNoteOut:
    """Approve a credit note waiting for approval: it is issued and takes its number. 409 unless it is waiting.
    Audited."""
    return CreditNoteOut.model_validate(await inv_service.approve_credit_note(session, user, credit_note_id))


# --- approvals (issue 13): reject beside approve ---
@router.post(
    "/credit-notes/{credit_note_id}/reject",
    response_model=CreditNoteOut,
    summary="Reject a credit note waiting for approval (admin, finance)",
    description=(
        "A credit note over `SEATLEASE_CREDIT_NOTE_APPROVAL_THRESHOLD_MINOR` waits for approval; this refuses it "
        "with a `reason` (required), kept on the note (`rejection_reason`, `rejected_by`, `rejected_at`) and in the "
        "audit log (`credit_note.reject`). It is never issued and takes no number. 409 when it is not waiting "
        "(already approved or rejected: a double submit rejects once). **Roles:** admin, finance."
    ),
)
async def reject_credit_note(
    credit_note_id: uuid.UUID, body: CreditNoteReject, user: FinanceUser, session: SessionDep
) -> CreditNoteOut:
    return CreditNoteOut.model_validate(await inv_service.reject_credit_note(session, user, credit_note_id, body.reason))


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
async def void_invoice(invoice_id: uuid.UUID, user: FinanceUser, session: SessionDep, body: VoidBody | None = None) -> InvoiceOut:
    """Void an issued invoice that nothing was paid on, with an optional `reason`. 409 otherwise. Audited."""
    inv = await inv_service.get_invoice(session, invoice_id, for_update=True)
    inv = await inv_service.void_invoice(session, user, inv, (body or VoidBody()).reason)
    await session.refresh(inv)
    return InvoiceOut.of(inv, await billing_queries.invoice_lines(session, inv.id))


_STATEMENT_DOC = """The month's statement: per currency the issuing entities, opening balance, invoices, credit
notes, cleared payments (what each paid and withheld), tax withheld, refunds of credit, closing balance
and aging. Finance and admins; a client its own (another client's is 404)."""
StatementPeriod = Annotated[str, Path(pattern=PERIOD_PATTERN, description="YYYY-MM")]


@router.get(
    "/clients/{client_id}/statements/{period}",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}, **CSV_CONTENT, **PDF_CONTENT}}},
    description=_STATEMENT_DOC
    + """

As JSON (minor units), CSV (major units, the currency on every row) or PDF (page numbers), by `Accept`
or `?format=`; CSV and PDF are named `statement-<period>-<slug of the client's legal name>`. A
generated client reads the documents from their own operations (`client_statement_csv`,
`client_statement_pdf`).""",
)
async def client_statement(
    client_id: uuid.UUID,
    period: StatementPeriod,
    user: TenantReader,
    session: SessionDep,
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[Literal["json", "csv", "pdf"] | None, Query()] = None,
) -> Response:
    return await _statement(session, user, client_id, period, format or _negotiate(accept))


@router.get(
    "/clients/{client_id}/statements/{period}/csv",
    response_class=Response,
    responses={200: {"content": CSV_CONTENT, "description": "the statement as CSV"}},
    description=_STATEMENT_DOC + "\n\nAs CSV: amounts in major units, the currency on every row.",
)
async def client_statement_csv(
    client_id: uuid.UUID, period: StatementPeriod, user: TenantReader, session: SessionDep
) -> Response:
    return await _statement(session, user, client_id, period, "csv")


@router.get(
    "/clients/{client_id}/statements/{period}/pdf",
    response_class=Response,
    responses={200: {"content": PDF_CONTENT, "description": "the statement as a PDF"}},
    description=_STATEMENT_DOC + "\n\nAs a PDF with page numbers.",
)
async def client_statement_pdf(
    client_id: uuid.UUID, period: StatementPeriod, user: TenantReader, session: SessionDep
) -> Response:
    return await _statement(session, user, client_id, period, "pdf")


# --- API polish (issue 14): the same statements with the client given as a query parameter, which a
# client's token may leave out (its own client); a staff token must give it (422 naming client_id) ---
StatementClient = Annotated[uuid.UUID | None, Query(description="the client; a client's token may leave it out (its own client)")]
_OWN = "\n\nThe client is `client_id`, which a client's token may leave out: its own."


@router.get(
    "/statements/{period}",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}, **CSV_CONTENT, **PDF_CONTENT}}},
    description=_STATEMENT_DOC + _OWN + "\n\nAs JSON, CSV or PDF, by `Accept` or `?format=`, as `client_statement`.",
)
async def statement(
    period: StatementPeriod,
    user: TenantReader,
    session: SessionDep,
    client_id: StatementClient = None,
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[Literal["json", "csv", "pdf"] | None, Query()] = None,
) -> Response:
    return await _statement(session, user, user.client_for(client_id), period, format or _negotiate(accept))


@router.get(
    "/statements/{period}/csv",
    response_class=Response,
    responses={200: {"content": CSV_CONTENT, "description": "the statement as CSV"}},
    description=_STATEMENT_DOC + _OWN + "\n\nAs CSV: amounts in major units, the currency on every row.",
)
async def statement_csv(
    period: StatementPeriod, user: TenantReader, session: SessionDep, client_id: StatementClient = None
) -> Response:
    return await _statement(session, user, user.client_for(client_id), period, "csv")


@router.get(
    "/statements/{period}/pdf",
    response_class=Response,
    responses={200: {"content": PDF_CONTENT, "description": "the statement as a PDF"}},
    description=_STATEMENT_DOC + _OWN + "\n\nAs a PDF with page numbers.",
)
async def statement_pdf(
    period: StatementPeriod, user: TenantReader, session: SessionDep, client_id: StatementClient = None
) -> Response:
    return await _statement(session, user, user.client_for(client_id), period, "pdf")


async def _statement(session: SessionDep, user: Principal, client_id: uuid.UUID, period: str, wanted: str) -> Response:
    user.require_client(client_id, "client")
    _no_facility_staff(user)
    month = billing_run.parse_period(period)
    await get_or_404(session, Client, client_id, "client")
    st = await billing_queries.client_statement(session, client_id, month)
    if wanted == "csv":
        return Response(
            statement_render.statement_csv(st),
            media_type="text/csv; charset=utf-8",
            headers=attachment(statement_render.statement_filename(st, "csv")),
        )
    if wanted == "pdf":
        return Response(
            await asyncio.to_thread(statement_render.statement_pdf, st),  # reportlab is CPU work: off the event loop
            media_type="application/pdf",
            headers=attachment(statement_render.statement_filename(st, "pdf")),
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
    openapi_extra=PUBLIC,  # Stripe signs it; no bearer token
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
    return jsonable_encoder(await billing_queries.ar_aging(session, as_of or date.today()))


@router.get("/reports/kpis")
async def kpis(
    user: StaffOrFinance, session: SessionDep, period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None
) -> Any:
    """The facility's KPIs: billing figures here, provisioning's merged in."""
    out = await billing_queries.billing_kpis(session, period, date.today())
    out.update(await provisioning_kpis.kpis(session))
    return jsonable_encoder(out)


def install(app: FastAPI) -> None:
    app.include_router(router)
    # --- drafts and one-off invoices (issue 12) ---
    app.include_router(invoice_drafts.router)
