"""Proposals in the admin: made from the booking form's price preview (service/admin/lease_booking.py),
shown, downloaded as PDF and withdrawn on the lease page; the same use-cases as the API
(domain/leasing/proposals.py) and the same PDF (billing/proposal_doc.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import proposal_doc
from domain.errors import NotFound
from domain.leasing import holds, proposals
from domain.leasing.schemas import LeaseCreate
from domain.models import Lease, Site
from domain.services import catalog, mail
from service.admin.confirm import dry_run, is_confirmed
from service.admin.lease_confirm import confirm_withdraw
from service.admin.web import CsrfForm, Ops, Staff, attempt, redirect, validate_form
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()


def default_expiry_day(site: Site | None, hold: timedelta) -> str:
    """The booking form's default "hold seats until" day: the proposal hold from today."""
    return (catalog.site_today(site) + hold).isoformat() if site is not None else ""


def expires_at(site: Site, day: date) -> datetime:
    """A proposal held "until" a day is held to the end of that day on the site's calendar."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(site.timezone))


async def propose(
    session: AsyncSession, user: Principal, body: LeaseCreate, values: dict[str, Any], default_hold: timedelta
) -> tuple[Lease | None, dict[str, str]]:
    """The booking form's "Send as proposal": the form's lease (its terms included) with the day its hold ends."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    day = str(values.get("proposal_expires_on") or "").strip()
    if day:
        try:
            site = await catalog.get_site(session, body.site_id)
            data["expires_at"] = expires_at(site, date.fromisoformat(day)).isoformat()
        except ValueError:
            errors["proposal_expires_on"] = "not a date (YYYY-MM-DD)"
    req, schema_errors = validate_form(proposals.ProposalCreate, data)
    for k, v in schema_errors.items():
        errors.setdefault({"expires_at": "proposal_expires_on"}.get(k, k), v)
    if errors or req is None:
        return None, errors
    lease, error = await attempt(session, lambda: proposals.create_proposal(session, user, req, default_hold=default_hold))
    if error is not None:
        field = error.field or "__all__"
        return None, {{"expires_at": "proposal_expires_on"}.get(field, field): error.detail}
    return lease, {}


async def hold_context(session: AsyncSession, lease: Lease, pending_hold: timedelta) -> dict[str, Any]:
    """What the lease page shows of a proposal or of a pending approval's hold."""
    held_until = None
    if lease.status in ("proposed", "pending_approval"):
        ends = await holds.pending_hold_ends(session, lease.id, pending_hold)
        site = await catalog.get_site(session, lease.site_id)
        held_until = ends.astimezone(ZoneInfo(site.timezone)) if ends is not None else None
    return {
        "proposal_state": proposals.proposal_state(lease) if lease.proposed_at is not None else None,
        "held_until": held_until,
        # --- email: the proposal's emails and their state (service/admin/proposal_mail.py sends) ---
        "proposal_emails": (await mail.emails_about(session, [lease.id]))[lease.id] if lease.proposed_at is not None else [],
    }


async def proposal_lease(session: AsyncSession, lease_id: uuid.UUID, *, for_update: bool = False) -> Lease:
    lease = await proposals.get_proposal(session, lease_id, for_update=for_update)
    if lease is None:
        raise NotFound("proposal not found")
    return lease


@router.get("/leases/{lease_id}/proposal.pdf", response_model=None)
async def proposal_pdf(request: Request, lease_id: uuid.UUID, user: Staff, session: SessionDep) -> Response:
    lease = await proposal_lease(session, lease_id)
    view = (await proposals.proposal_views(session, [lease]))[0]
    threshold = request.app.state.settings.discount_approval_threshold_pct
    priced = await proposal_doc.priced(session, view, lease, discount_threshold_pct=threshold)
    pdf = await proposal_doc.proposal_pdf(session, priced)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="proposal-{lease.id}.pdf"'}
    )


@router.post("/leases/{lease_id}/withdraw-proposal", response_model=None)
async def withdraw(request: Request, lease_id: uuid.UUID, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    lease = await proposal_lease(session, lease_id, for_update=True)
    # --- console (issue 13): ask first, after a dry run (an error is said at once, not after asking) ---
    if not is_confirmed(form):
        error = await dry_run(session, lambda: proposals.withdraw_proposal(session, user, lease))
        if error is None:
            return await confirm_withdraw(request, session, await proposal_lease(session, lease_id))
        return redirect(request, f"/admin/leases/{lease_id}", f"Not withdrawn: {error.detail}")
    _, error = await attempt(session, lambda: proposals.withdraw_proposal(session, user, lease))
    if error is not None:
        return redirect(request, f"/admin/leases/{lease_id}", f"Not withdrawn: {error.detail}")
    return redirect(request, f"/admin/leases/{lease_id}", "Proposal withdrawn: its seats are free again")
