"""Issue 11's actions on the admin's lease page: reject a pending lease, set the notice period, the
renewal mode, and renew. Each parses the form with the API's own input model, calls the same
use-case as the API and shows a domain error next to its field (service/admin/leases.py `_act`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.leasing import lifecycle, notice, renewal, state
from domain.leasing.schemas import LeaseReject, LeaseRenew, NoticeSet, RenewalModeSet
from domain.models import RenewalMode
from domain.services import catalog
from service.admin.invoices import parse_amount
from service.admin.leases import _act, _detail
from service.admin.web import CsrfForm, Finance, Ops, validate_form
from service.db import SessionDep

router = APIRouter()


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """A form's blank fields are left out (the API's models refuse null for an optional field)."""
    return {k: v for k, v in data.items() if v not in (None, "")}


@router.post("/leases/{lease_id}/reject", response_model=None)
async def reject_lease(request: Request, lease_id: uuid.UUID, user: Finance, session: SessionDep, form: CsrfForm) -> Response:
    body, errs = validate_form(LeaseReject, _present({"reason": str(form.get("reject_reason") or "").strip()}))
    if body is None:
        errors = {"reject_reason": errs.get("reason", next(iter(errs.values()), "give a reason"))}
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Lease rejected",
        lambda lease: lifecycle.reject_lease(session, user, lease, body.reason),
    )


@router.post("/leases/{lease_id}/notice", response_model=None)
async def set_notice(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    body, errs = validate_form(NoticeSet, _present({"notice_days": str(form.get("notice_days") or "").strip()}))
    if body is None:
        errors = {"notice_days": next(iter(errs.values()), "enter a number of days")}
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        f"Notice period set to {body.notice_days} days",
        lambda lease: notice.set_notice(session, user, lease, body.notice_days),
    )


@router.post("/leases/{lease_id}/renewal", response_model=None)
async def set_renewal_mode(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    data = _present({"renewal_mode": form.get("renewal_mode"), "reason": str(form.get("renewal_reason") or "").strip()})
    body, errs = validate_form(RenewalModeSet, data)
    if body is None:
        errors = {"renewal_mode": next(iter(errs.values()), "not a valid choice")}
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    mode = RenewalMode(body.renewal_mode)
    done = {RenewalMode.AUTO: "Lease renews automatically", RenewalMode.LAPSE: "Lease lapses at its term end"}
    return await _act(
        request,
        session,
        lease_id,
        form,
        done.get(mode, "Renewal decided by staff"),
        lambda lease: renewal.set_renewal_mode(session, user, lease, mode, reason=body.reason),
    )


@router.post("/leases/{lease_id}/renew", response_model=None)
async def renew_lease(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "end_date": str(form.get("renew_end_date") or "").strip(),
        "reason": str(form.get("renew_reason") or "").strip(),
    }
    price_text = str(form.get("renew_seat_price") or "").strip()
    if price_text:
        site = await catalog.get_site(session, (await state.get_lease(session, lease_id)).site_id)
        price, error = parse_amount(price_text, site.currency)
        if error:
            errors["renew_seat_price"] = error
        data["seat_price_minor"] = price
    body, errs = validate_form(LeaseRenew, _present(data))
    names = {"end_date": "renew_end_date", "seat_price_minor": "renew_seat_price", "reason": "renew_reason"}
    for k, v in errs.items():
        errors.setdefault(names.get(k, k), v)
    if errors or body is None:
        return await _detail(request, session, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        lease_id,
        form,
        "Lease renewed",
        lambda lease: renewal.renew_lease(
            session, user, lease, end_date=body.end_date, seat_price_minor=body.seat_price_minor, reason=body.reason
        ),
        names,
    )
