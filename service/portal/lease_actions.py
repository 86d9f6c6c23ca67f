"""A client admin's actions on its own lease (issue 14): who sits where, moving an agent's seat,
adding seats, releasing one, ending or cancelling the lease, accepting a proposal. Each calls the
use-case the API calls, as a client (``is_staff=False``), under the lease's lock; a refusal is
shown next to its field on the lease page and nothing is kept (``attempt``: a savepoint).
Destructive ones ask first (service/admin/confirm.py, ``lease_asks``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from billing import proposal_doc
from domain.leasing import lifecycle, moves, proposals
from domain.leasing.change_schemas import SeatMoveIn
from domain.leasing.schemas import SeatsAdd
from domain.models import Lease
from service.admin.confirm import dry_run, is_confirmed
from service.db import SessionDep
from service.portal import lease_asks
from service.portal.leases import client_limits, lease_page, own_lease, parse_day, refusal
from service.portal.web import Client, ClientAdmin, CsrfForm, attempt, redirect, validate_form

router = APIRouter()  # included in the portal's router, under /portal

Work = Callable[[Lease], Awaitable[Any]]


async def _act(
    request: Request,
    session: AsyncSession,
    user: Any,
    lease_id: uuid.UUID,
    form: dict[str, Any],
    work: Work,
    done: str,
    fields: dict[str, str],
    default: str,
) -> Response:
    lease = await own_lease(session, user, lease_id, for_update=True)
    _, error = await attempt(session, lambda: work(lease))
    if error is None:
        return redirect(request, f"/portal/leases/{lease_id}", done)
    await session.refresh(lease)
    errors = refusal(error, fields, default)
    return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=error.status)


async def _ask(
    request: Request,
    session: AsyncSession,
    user: Any,
    lease_id: uuid.UUID,
    form: dict[str, Any],
    work: Work,
    page: Callable[[Lease], Awaitable[Response]],
    fields: dict[str, str],
    default: str,
) -> Response:
    """The first post of a destructive action: its dry run's refusal on the lease page, else the
    confirmation page; only the confirmation's own post (``confirmed=yes``) does it."""
    lease = await own_lease(session, user, lease_id, for_update=True)
    error = await dry_run(session, lambda: work(lease))
    if error is not None:
        errors = refusal(error, fields, default)
        return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=error.status)
    return await page(await own_lease(session, user, lease_id))


@router.post("/leases/{lease_id}/assignments", response_model=None)
async def put_assignments(
    request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    """Every seat's agent at once (the API's PUT …/assignments). A refused save keeps every choice and
    marks the rows at fault."""
    await own_lease(session, user, lease_id)
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    row_errors: dict[str, str] = {}
    for key, value in form.items():
        if not key.startswith("seat_") or not value:
            continue
        try:
            pairs.append((uuid.UUID(key.removeprefix("seat_")), uuid.UUID(str(value))))
        except ValueError:
            row_errors[key] = "not a valid choice"
    if row_errors:
        errors = {"assignments": "a choice is not valid: see the marked row", **row_errors}
        return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=422)
    lease = await own_lease(session, user, lease_id, for_update=True)
    _, error = await attempt(session, lambda: lifecycle.set_assignments(session, user, lease, pairs))
    if error is None:
        return redirect(request, f"/portal/leases/{lease_id}", "Seating saved: access follows the agents")
    await session.refresh(lease)
    errors = {"assignments": error.detail}
    for seat_id in error.extra.get("seat_ids") or ():
        errors[f"seat_{seat_id}"] = error.detail
    return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=error.status)


MOVE_FIELDS = {"seat_id": "move_from", "member_id": "move_from", "to_seat_id": "move_to", "effective": "move_effective"}


@router.post("/leases/{lease_id}/move-seat", response_model=None)
async def move_seat(request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """An agent's seat moves to a free seat of the same site and shift from a date (the API's seat-moves)."""
    await own_lease(session, user, lease_id)
    data = {"seat_id": form.get("move_from") or None, "to_seat_id": form.get("move_to") or None}
    data["effective"] = form.get("move_effective") or None
    body, errs = validate_form(SeatMoveIn, data)
    errors = {MOVE_FIELDS.get(k, "move_from"): v for k, v in errs.items()}
    if body is None or errors:
        return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=422)
    return await _act(
        request,
        session,
        user,
        lease_id,
        form,
        lambda lease: moves.move_seat(session, user, lease, body, is_staff=False),
        "Seat moved: the agent and their access follow on the date",
        MOVE_FIELDS,
        "move_from",
    )


ADD_FIELDS = {"seat_count": "add_count", "effective": "add_effective", "seat_ids": "add_count"}


@router.post("/leases/{lease_id}/seats", response_model=None)
async def add_seats(request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """More seats on this lease from a date, placed near its own (counted against the seat cap)."""
    await own_lease(session, user, lease_id)
    body, errs = validate_form(
        SeatsAdd, {"seat_count": form.get("add_count") or None, "effective": form.get("add_effective") or None}
    )
    errors = {ADD_FIELDS.get(k, "add_count"): v for k, v in errs.items()}
    if body is None or errors:
        return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=422)
    limits = client_limits(request)
    return await _act(
        request,
        session,
        user,
        lease_id,
        form,
        lambda lease: lifecycle.add_seats(
            session,
            user,
            lease,
            seat_count=body.seat_count,
            seat_ids=None,
            effective=body.effective,
            is_staff=False,
            limits=limits,
        ),
        f"{body.seat_count} seat(s) added from {body.effective}",
        ADD_FIELDS,
        "add_count",
    )


@router.post("/leases/{lease_id}/seats/{seat_id}/release", response_model=None)
async def release_seat(
    request: Request, lease_id: uuid.UUID, seat_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    """Reduce the lease by one seat from a date (asked first)."""
    await own_lease(session, user, lease_id)
    errors: dict[str, str] = {}
    effective = parse_day(form.get("effective"), "effective", errors)
    if effective is None:
        if not is_confirmed(form):
            errors = {"release": errors["effective"]}
            return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=422)
        lease = await own_lease(session, user, lease_id)
        return await lease_asks.confirm_release(request, session, lease, seat_id, form, errors=errors)

    def work(lease: Lease) -> Any:
        return lifecycle.release_seat(session, user, lease, seat_id, effective=effective, is_staff=False)

    fields = {"effective": "release"}
    if not is_confirmed(form):
        ask = lambda lease: lease_asks.confirm_release(request, session, lease, seat_id, form)  # noqa: E731
        return await _ask(request, session, user, lease_id, form, work, ask, fields, "release")
    return await _act(request, session, user, lease_id, form, work, "Seat released", fields, "release")


@router.post("/leases/{lease_id}/end", response_model=None)
async def end_lease(request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """Set the lease's last day within its contract: a rolling lease on notice, a fixed term not before
    its end (the API's refusals, next to the date)."""
    await own_lease(session, user, lease_id)
    errors: dict[str, str] = {}
    end = parse_day(form.get("end_date"), "end_date", errors)
    if end is None:
        return await lease_page(request, session, user, lease_id, errors=errors, values=form, status_code=422)

    def work(lease: Lease) -> Any:
        return lifecycle.end_lease(session, user, lease, end, is_staff=False)

    fields = {"end_date": "end_date"}
    if not is_confirmed(form):
        ask = lambda lease: lease_asks.confirm_end(request, session, lease, form, end)  # noqa: E731
        return await _ask(request, session, user, lease_id, form, work, ask, fields, "end_date")
    return await _act(request, session, user, lease_id, form, work, f"Lease ends on {end}", fields, "end_date")


@router.post("/leases/{lease_id}/cancel", response_model=None)
async def cancel_lease(request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    """Cancel a lease before it starts (a late cancellation owes the fee the API charges; asked first)."""
    await own_lease(session, user, lease_id)
    limits = client_limits(request)

    def work(lease: Lease) -> Any:
        return lifecycle.cancel_lease(session, user, lease, is_staff=False, limits=limits)

    if not is_confirmed(form):
        ask = lambda lease: lease_asks.confirm_cancel(request, session, lease, limits)  # noqa: E731
        return await _ask(request, session, user, lease_id, form, work, ask, {}, "cancel")
    return await _act(request, session, user, lease_id, form, work, "Lease cancelled", {}, "cancel")


@router.post("/leases/{lease_id}/accept", response_model=None)
async def accept_proposal(
    request: Request, lease_id: uuid.UUID, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    """Accept a proposal the facility sent: the same lease and seats become the client's (the API's accept)."""
    await own_lease(session, user, lease_id)
    settings = request.app.state.settings
    if await proposals.get_proposal(session, lease_id) is None:
        return await lease_page(
            request, session, user, lease_id, errors={"accept": "this lease is not a proposal"}, status_code=409
        )

    def work(lease: Lease) -> Any:
        return proposals.accept_proposal(
            session,
            user,
            lease,
            discount_threshold_pct=settings.discount_approval_threshold_pct,
            pending_hold=settings.pending_hold,
        )

    return await _act(request, session, user, lease_id, form, work, "Proposal accepted: the seats are yours", {}, "accept")


@router.get("/leases/{lease_id}/proposal.pdf", response_model=None)
async def proposal_pdf(request: Request, lease_id: uuid.UUID, user: Client, session: SessionDep) -> Response:
    lease = await own_lease(session, user, lease_id)
    if lease.proposed_at is None:
        from domain.errors import NotFound

        raise NotFound("proposal not found")
    view = (await proposals.proposal_views(session, [lease]))[0]
    threshold = request.app.state.settings.discount_approval_threshold_pct
    pdf = await proposal_doc.proposal_pdf(
        session, await proposal_doc.priced(session, view, lease, discount_threshold_pct=threshold)
    )
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="proposal-{lease.id}.pdf"'}
    )


__all__ = ["router"]
