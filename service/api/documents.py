"""Documents: an invoice's own PDF and a credit note's own PDF (billing/invoice_doc.py draws them)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from billing import client_views, invoice_doc
from billing.doc_kit import attachment
from domain.errors import Forbidden, NotFound
from domain.models.invoice import CreditNote, Invoice
from domain.services.lookup import get_or_404
from service.auth import Principal, TenantReader
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["billing"])

PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}, "description": "the PDF"}
}


def _readable(user: Principal, client_id: uuid.UUID, issued: bool, what: str) -> None:
    """Finance, admins and the client itself; a client sees only issued documents of its own (anything else: 404)."""
    user.require_client(client_id, what)
    if user.is_client and not issued:
        raise NotFound(f"{what} not found")
    if user.role == "facility_staff":
        raise Forbidden("invoices and credit notes are read by finance and by the client")


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses=PDF,
    summary="An invoice as a PDF",
    description="The invoice an auditor accepts: the issuing entity (the site's legal name, address, tax id, footer), "
    "the client with its tax treatment, number, issue and due dates, service period, lines with their tax "
    "treatment and rate, totals per tax rate, and the amount due after cleared payments, tax withheld and credit "
    "notes; every page numbered. File name `invoice-<number>.pdf`. Finance and admins read every invoice (drafts "
    "too); a client reads its own issued invoices (another client's, or a draft, is 404); facility staff get 403.",
)
async def invoice_pdf(invoice_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Response:
    inv = await get_or_404(session, Invoice, invoice_id, "invoice")
    _readable(user, inv.client_id, client_views.client_sees_invoice(inv.status), "invoice")
    name, pdf = await invoice_doc.invoice_document(session, inv.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    response_class=Response,
    responses=PDF,
    summary="A credit note as a PDF",
    description="The credit note's own document: the issuing entity, the client, its number and date, the invoice it "
    "credits, the reason, the credit before tax, the tax credited and the total; every page numbered. File name "
    "`credit-note-<number>.pdf`. Finance and admins read every credit note (one waiting for approval too); a "
    "client reads its own issued credit notes (another client's, or one not issued, is 404); facility staff get 403.",
)
async def credit_note_pdf(credit_note_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Response:
    cn = await get_or_404(session, CreditNote, credit_note_id, "credit note")
    _readable(user, cn.client_id, client_views.client_sees_credit_note(cn.status), "credit note")
    name, pdf = await invoice_doc.credit_note_document(session, cn.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))
