"""Documents in the admin: an invoice's and a credit note's PDF (finance), and the issuing entity a site
prints on them (facility staff and admins: the same use-case and rules as PATCH /v1/sites/{id})."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from billing import invoice_doc
from billing.doc_kit import attachment
from domain.models.invoice import CreditNote, Invoice
from domain.services import catalog
from domain.services.catalog_schemas import SiteUpdate
from domain.services.lookup import get_or_404
from service.admin.web import CsrfForm, Finance, Ops, attempt, redirect, render, validate_form
from service.db import SessionDep

router = APIRouter()

ISSUER_FIELDS = ("legal_name", "address", "tax_id", "invoice_footer", "tax_label")


@router.get("/invoices/{invoice_id}/pdf", response_model=None)
async def invoice_pdf(invoice_id: uuid.UUID, user: Finance, session: SessionDep) -> Response:
    """The invoice's own PDF, the one GET /v1/invoices/{id}/pdf serves."""
    inv = await get_or_404(session, Invoice, invoice_id, "invoice")
    name, pdf = await invoice_doc.invoice_document(session, inv.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))


@router.get("/credit-notes/{credit_note_id}/pdf", response_model=None)
async def credit_note_pdf(credit_note_id: uuid.UUID, user: Finance, session: SessionDep) -> Response:
    """The credit note's own PDF, the one GET /v1/credit-notes/{id}/pdf serves."""
    cn = await get_or_404(session, CreditNote, credit_note_id, "credit note")
    name, pdf = await invoice_doc.credit_note_document(session, cn.id)
    return Response(pdf, media_type="application/pdf", headers=attachment(name))


async def _issuer_page(
    request: Request,
    session: SessionDep,
    site_id: uuid.UUID,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    site = await catalog.get_site(session, site_id)
    v = values if values is not None else {k: getattr(site, k) or "" for k in ISSUER_FIELDS}
    return render(
        request,
        "site_issuer.html",
        {"site": site, "v": v, "errors": errors or {}, "flash": request.query_params.get("flash")},
        status_code=status_code,
    )


@router.get("/sites/{site_id}/issuer", response_class=HTMLResponse)
async def issuer_form(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep) -> HTMLResponse:
    """The issuing entity of a site: what every invoice, credit note and statement of the site prints."""
    return await _issuer_page(request, session, site_id)


@router.post("/sites/{site_id}/issuer", response_model=None)
async def save_issuer(request: Request, site_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    values = {k: str(form.get(k) or "").replace("\r\n", "\n") for k in ISSUER_FIELDS}
    data = {k: (v.strip() if k in ("legal_name", "tax_id", "tax_label") else v.strip("\n")) for k, v in values.items()}
    body, errors = validate_form(SiteUpdate, data)
    if body is None:
        return await _issuer_page(request, session, site_id, values, errors, status_code=422)
    site = await catalog.get_site(session, site_id)
    _, error = await attempt(session, lambda: catalog.update_site(session, user, site, body))
    if error is not None:
        return await _issuer_page(request, session, site_id, values, {error.field or "__all__": error.detail}, 422)
    return redirect(request, f"/admin/sites/{site_id}/issuer", "Issuing entity saved")
