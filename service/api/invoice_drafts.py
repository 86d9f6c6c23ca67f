"""Drafts and one-off invoices (issue 12): raise a one-off invoice, add or remove one-off lines on a
draft, issue drafts in bulk, list the drafts awaiting review. Each route parses, calls one use-case of
billing/drafts.py and renders; finance and admins only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from billing import drafts
from billing import invoices as inv_service
from billing import queries as billing_queries
from billing.draft_queries import draft_list
from billing.draft_schemas import IssueDrafts, OneOffInvoiceCreate, OneOffLineCreate
from billing.read_models import DraftList, InvoiceOut
from domain.schemas import PERIOD_PATTERN
from service.auth import FinanceUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["billing"])

_ROLES = "Roles: admin, finance."


@router.post(
    "/invoices",
    status_code=201,
    response_model=InvoiceOut,
    summary="Raise a one-off invoice",
    description="An invoice outside the monthly run (kind `one_off`: a damaged headset, an extra service) for a client "
    "at a site, in the site's currency. Each line has a description, quantity, unit price in minor units, the reason "
    "(audited) and optionally the client's lease it concerns; it is taxed by the client's tax treatment unless the "
    "line names its own. `issue: true` (the default) issues it at once — numbered in issue order, dated today on the "
    "site's calendar, due today plus the client's payment terms —; `false` keeps it as a draft to review and issue "
    "later. The monthly run and its true-ups ignore one-off lines. An `Idempotency-Key` replays the first answer. " + _ROLES,
)
async def create_one_off_invoice(body: OneOffInvoiceCreate, user: FinanceUser, session: SessionDep, idem: IdempotencyDep) -> Any:
    async def make() -> InvoiceOut:
        inv = await drafts.create_one_off_invoice(session, user, body)
        return InvoiceOut.of(inv, await billing_queries.invoice_lines(session, inv.id))

    return await idem.run(session, str(user.subject), body, make)


@router.post(
    "/billing/drafts/issue",
    response_model=list[InvoiceOut],
    summary="Issue drafts in bulk",
    description="Issue the given drafts (a run's under draft review, or one-off ones): each takes the next number of "
    "its site in issue order and is dated the day it is issued on its site's calendar, due that day plus the client's "
    "payment terms; then it is pushed to Stripe. Idempotent: an invoice already issued (a double click, a concurrent "
    "request) is returned unchanged, never issued twice. An unknown id is a 404 naming `invoice_ids`. " + _ROLES,
)
async def issue_invoices(body: IssueDrafts, user: FinanceUser, session: SessionDep) -> list[InvoiceOut]:
    issued = await drafts.issue_drafts(session, user, body.invoice_ids)
    return [InvoiceOut.of(inv) for inv in issued]


@router.post(
    "/invoices/{invoice_id}/lines",
    status_code=201,
    response_model=InvoiceOut,
    summary="Add a one-off line to a draft",
    description="A line of kind `one_off` with its reason and author, on a draft (a 409 once the invoice is issued: "
    "correct an issued invoice by credit note). Returns the draft with its lines and new totals. " + _ROLES,
)
async def add_line(invoice_id: uuid.UUID, body: OneOffLineCreate, user: FinanceUser, session: SessionDep) -> InvoiceOut:
    line = await drafts.add_one_off_line(session, user, invoice_id, body)
    inv = await inv_service.get_invoice(session, line.invoice_id)
    return InvoiceOut.of(inv, await billing_queries.invoice_lines(session, inv.id))


@router.delete(
    "/invoices/{invoice_id}/lines/{line_id}",
    response_model=InvoiceOut,
    summary="Remove a one-off line from a draft",
    description="Only a one-off line of a draft can be removed (the run's own lines are what the leases owe: a 409). "
    "Audited. " + _ROLES,
)
async def remove_line(invoice_id: uuid.UUID, line_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> InvoiceOut:
    inv = await drafts.remove_one_off_line(session, user, invoice_id, line_id)
    return InvoiceOut.of(inv, await billing_queries.invoice_lines(session, inv.id))


@router.delete(
    "/invoices/{invoice_id}",
    status_code=204,
    summary="Discard a one-off draft",
    description="Delete a one-off invoice kept as a draft (it took no number). A run's draft is a 409: it is what the "
    "leases owe; an issued invoice is a 409 too (void it or credit it). Audited. " + _ROLES,
)
async def discard_draft(invoice_id: uuid.UUID, user: FinanceUser, session: SessionDep) -> Response:
    await drafts.discard_draft(session, user, invoice_id)
    return Response(status_code=204)


@router.get(
    "/billing/drafts",
    response_model=DraftList,
    summary="Drafts awaiting review",
    description="The drafts of a billing run (`run_id`) or a period, or all of them, with their totals per currency. "
    "Drafts exist when `SEATLEASE_BILLING_DRAFT_REVIEW` is on (a run's) or when finance keeps a one-off invoice as a "
    "draft. " + _ROLES,
)
async def list_drafts(
    user: FinanceUser,
    session: SessionDep,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    run_id: uuid.UUID | None = None,
) -> DraftList:
    return await draft_list(session, period=period, run_id=run_id)
