"""A proposal sent by email from the admin's lease page: the API's use-case
(billing/proposal_mail.py), its errors next to the form's fields."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from billing import proposal_mail
from service.admin.lease_booking import split_labels
from service.admin.leases import _detail
from service.admin.proposals import proposal_lease
from service.admin.web import CsrfForm, Ops, attempt, redirect, validate_form
from service.db import SessionDep

router = APIRouter()


@router.post("/leases/{lease_id}/send-proposal", response_model=None)
async def send_proposal(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    # addresses typed one after another, separated by commas, semicolons or spaces; none: the billing email
    to = split_labels(str(form.get("to") or ""))
    message = str(form.get("message") or "").replace("\r\n", "\n").strip()
    data: dict[str, object] = {"to": to or None, "message": message or None}
    body, errs = validate_form(proposal_mail.ProposalSend, data)
    errors: dict[str, str] = {}
    for name, text in errs.items():
        if name == "to":
            # the form's errors name the field only: say which address is wrong
            bad = next((a for a in to if validate_form(proposal_mail.ProposalSend, {"to": [a]})[1]), None)
            text = f"{bad}: {text}" if bad else text
        errors.setdefault(name if name in ("to", "message") else "send", text)
    if errors or body is None:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    lease = await proposal_lease(session, lease_id, for_update=True)
    threshold = request.app.state.settings.discount_approval_threshold_pct
    sent, error = await attempt(
        session, lambda: proposal_mail.send_proposal(session, user, lease, body, discount_threshold_pct=threshold)
    )
    if error is not None:
        await session.refresh(lease)
        field = error.field if error.field in ("to", "message") else "send"
        return await _detail(request, session, lease_id, errors={field: error.detail}, values=form, status_code=422)
    flash = f"Proposal queued for sending to {', '.join(sent.email.to)}"
    if not request.app.state.settings.smtp_host:
        flash += " (no SMTP server is set: it waits until SEATLEASE_SMTP_HOST is)"
    return redirect(request, f"/admin/leases/{lease_id}", flash)
