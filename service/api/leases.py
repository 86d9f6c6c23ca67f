"""Leases, amendments, lifecycle, assignments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from domain.errors import NotFound
from domain.leasing import booking, lifecycle, queries, state
from domain.leasing import views as views_
from domain.leasing.schemas import Assignment, AssignmentOut, Lease, LeaseCreate, LeaseEnd, SeatsAdd
from domain.models import Lease as LeaseRow
from domain.schemas import Out, Page, Strict
from domain.services import charges as charges_svc
from domain.services.charges import ClientLimits
from service.api.deps import Cursor, Limit, QueryDate
from service.auth import ClientWriter, FinanceUser, Principal, StaffUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1/leases", tags=["leases"])

LeaseStatus = Annotated[str | None, Query(pattern="^(pending_approval|confirmed|active|ended|cancelled|proposed)$")]


async def load_lease(session: SessionDep, lease_id: uuid.UUID, user: Principal, *, for_update: bool = False) -> LeaseRow:
    """Fetch under the tenant filter first: another tenant's lease does not exist."""
    lease = await state.get_lease(session, lease_id, for_update=for_update)
    user.require_client(lease.client_id, "lease")
    return lease


def client_limits(request: Request) -> ClientLimits:
    """What a client's own requests may do, from the settings."""
    st = request.app.state.settings
    return ClientLimits(
        seat_cap_default=st.client_seat_cap_default,
        cancellation_fee_window_days=st.cancellation_fee_window_days,
        cancellation_fee_months=st.cancellation_fee_months,
    )


def renewal_window(request: Request) -> int:
    """Days before its term end a fixed-term lease shows as up for renewal (SEATLEASE_RENEWAL_WINDOW_DAYS)."""
    return int(request.app.state.settings.renewal_window_days)


RenewalWindow = Annotated[int, Depends(renewal_window)]


async def _view(session: SessionDep, lease: LeaseRow, window: int) -> Lease:
    return (await views_.lease_views(session, [lease], renewal_window_days=window))[0]


CREATE_LEASE_DESCRIPTION = """Book a lease. Roles: admin, facility_staff, client_admin (and a client's machine
clients) for their own client.

- `discount_pct` is a commercial term set by **staff only**: a client's booking that carries the field
  at all (any value, even 0) is refused with **403** naming the field `discount_pct`, and nothing is
  booked. A staff discount above the approval threshold waits for finance approval.
- A client's own bookings may hold at most its **seat cap** (`seat_cap` of the client, set by staff;
  default the setting SEATLEASE_CLIENT_SEAT_CAP, 200): seats held are the seats of its
  pending_approval, confirmed and active leases not released or over, once per lease seat. A booking
  past it is refused with **409** `seat-cap-exceeded` naming `seat_count` or `seat_ids`, with
  `seat_cap`, `seats_held` and `seats_requested`. Staff bookings are not capped.
- **409** `seats-unavailable` when the seats are not free. A shift that crosses midnight holds the seat
  until its end on the morning after each of its dates, the last one included.
- A lease waiting for approval holds its seats for SEATLEASE_PENDING_HOLD_HOURS (72) hours after booking;
  not approved by then, the worker cancels it (audited `lease.hold_expired`) and the seats are free again.
"""


@router.post("", status_code=201, response_model=Lease, description=CREATE_LEASE_DESCRIPTION)
async def create_lease(
    body: LeaseCreate,
    user: ClientWriter,
    session: SessionDep,
    request: Request,
    idem: IdempotencyDep,
    window: RenewalWindow,
) -> JSONResponse:
    body = body.model_copy(update={"client_id": user.client_for(body.client_id)})  # a client's own by default
    settings = request.app.state.settings

    async def make() -> Lease:
        _lease, view = await booking.book_lease(
            session,
            user,
            body,
            is_staff=user.is_staff,
            discount_threshold_pct=settings.discount_approval_threshold_pct,
            limits=client_limits(request),
            renewal_window_days=window,
        )
        return view

    return await idem.run(session, str(user.subject), body, make)


@router.get("", response_model=Page[Lease])
async def list_leases(
    user: TenantReader,
    session: SessionDep,
    window: RenewalWindow,
    client_id: uuid.UUID | None = None,
    status: LeaseStatus = None,
    site_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
    up_for_renewal: Annotated[
        bool | None, Query(description="only leases up for renewal (true) or not (false); see the lease's up_for_renewal")
    ] = None,
) -> Page[Lease]:
    """Leases by start date, earliest first (then by id): staff (admin, facility_staff, finance) all; a
    client its own. Paged on (start date, id): leases booked between pages are neither skipped nor
    repeated."""
    if user.is_client:
        if client_id is not None and client_id != user.client_id:
            return Page(items=[])
        client_id = user.client_id
    rows, nxt = await queries.lease_page(
        session,
        client_id=client_id,
        status=status,
        site_id=site_id,
        cursor=cursor,
        limit=limit,
        up_for_renewal=up_for_renewal,
        renewal_window_days=window,
    )
    views = await views_.lease_views(session, rows, renewal_window_days=window)
    return Page(items=views, next_cursor=nxt)


@router.get("/{lease_id}", response_model=Lease)
async def get_lease(lease_id: uuid.UUID, user: TenantReader, session: SessionDep, window: RenewalWindow) -> Lease:
    """One lease with its seats, term and price. Another tenant's lease is 404."""
    return await _view(session, await load_lease(session, lease_id, user), window)


@router.post("/{lease_id}/seats", status_code=201, response_model=Lease)
async def add_seats(
    lease_id: uuid.UUID,
    body: SeatsAdd,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
    request: Request,
    window: RenewalWindow,
) -> JSONResponse:
    """Add seats from `effective` on. A client's own additions count against its seat cap (409
    `seat-cap-exceeded`, as for POST /v1/leases)."""
    lease = await load_lease(session, lease_id, user, for_update=True)

    async def make() -> Lease:
        await lifecycle.add_seats(
            session,
            user,
            lease,
            seat_count=body.seat_count,
            seat_ids=body.seat_ids,
            effective=body.effective,
            is_staff=user.is_staff,
            limits=client_limits(request),
        )
        return await _view(session, lease, window)

    return await idem.run(session, str(user.subject), body, make)


@router.delete("/{lease_id}/seats/{seat_id}", response_model=Lease)
async def release_seat(
    lease_id: uuid.UUID,
    seat_id: uuid.UUID,
    user: ClientWriter,
    session: SessionDep,
    effective: QueryDate,
    window: RenewalWindow,
) -> Lease:
    """Release one seat of the lease from `effective` (the first day it is free) on. Audited."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await lifecycle.release_seat(session, user, lease, seat_id, effective=effective, is_staff=user.is_staff)
    return await _view(session, lease, window)


END_LEASE_DESCRIPTION = """Set the lease's last day (inclusive). Roles: admin, facility_staff; client_admin (and a
client's machine clients) for their own client's leases.

- **Rolling lease** (`term_end_date` null): a client's end date is no earlier than today on the site's
  calendar plus the lease's `notice_days` (and not before its start): an earlier date is **422** naming
  `end_date`, with `earliest_end_date` and `notice_days` in the problem.
- **Fixed-term lease** (`term_end_date` set): a client cannot end it before its term end: **403** naming
  `end_date`, with `term_end_date` (the same request is allowed to staff, so it is a right, not a
  malformed payload). Ending it later lengthens the term.
- **Staff** may end any lease earlier, or as of a past date, giving a `reason` and optionally an
  `early_termination_fee_minor` (needs a reason and an early end): a one-off charge (kind
  `termination_fee`, see GET /v1/leases/{id}/charges) billed on the client's next invoice at the
  site, waivable until billed. A client sending either field gets **403** naming it. Audited
  (`lease.end` with the reason, the fee as `charge.create`).
- **409** when the lease is not confirmed or active, or a longer term meets another booking of a seat.
"""


@router.post("/{lease_id}/end", response_model=Lease, description=END_LEASE_DESCRIPTION)
async def end_lease(lease_id: uuid.UUID, body: LeaseEnd, user: ClientWriter, session: SessionDep, window: RenewalWindow) -> Lease:
    lease = await load_lease(session, lease_id, user, for_update=True)
    await lifecycle.end_lease(
        session,
        user,
        lease,
        body.end_date,
        is_staff=user.is_staff,
        reason=body.reason,
        early_termination_fee_minor=body.early_termination_fee_minor,
    )
    return await _view(session, lease, window)


@router.post("/{lease_id}/cancel", response_model=Lease)
async def cancel_lease(
    lease_id: uuid.UUID, user: ClientWriter, session: SessionDep, request: Request, window: RenewalWindow
) -> Lease:
    """Cancel a lease that has not started. A client cancelling SEATLEASE_CANCELLATION_FEE_DAYS (14)
    days or fewer before the start owes a cancellation fee of SEATLEASE_CANCELLATION_FEE_MONTHS (1)
    months of the seat price after discount × seats, billed on its next invoice (see
    GET /v1/leases/{id}/charges); staff cancelling charge none."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await lifecycle.cancel_lease(session, user, lease, is_staff=user.is_staff, limits=client_limits(request))
    return await _view(session, lease, window)


@router.post("/{lease_id}/approve", response_model=Lease)
async def approve_lease(lease_id: uuid.UUID, user: FinanceUser, session: SessionDep, window: RenewalWindow) -> Lease:
    """Approve a lease waiting for approval (a discount above the threshold). Roles: admin, finance.
    409 unless it is pending_approval. Audited (`lease.approve`)."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await lifecycle.approve_lease(session, user, lease)
    return await _view(session, lease, window)


@router.put("/{lease_id}/assignments", response_model=list[AssignmentOut])
async def put_assignments(
    lease_id: uuid.UUID, body: list[Assignment], user: ClientWriter, session: SessionDep
) -> list[AssignmentOut]:
    """Who sits where: replaces the lease's assignments with this list."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    rows = await lifecycle.set_assignments(session, user, lease, [(a.seat_id, a.member_id) for a in body])
    return [AssignmentOut.model_validate(r) for r in rows]


@router.get("/{lease_id}/assignments", response_model=list[AssignmentOut])
async def get_assignments(lease_id: uuid.UUID, user: TenantReader, session: SessionDep) -> list[AssignmentOut]:
    """Who sits where on the lease: its seat assignments."""
    lease = await load_lease(session, lease_id, user)
    return [AssignmentOut.model_validate(r) for r in await queries.lease_assignments(session, lease.id)]


class Charge(Out):
    id: uuid.UUID
    client_id: uuid.UUID
    site_id: uuid.UUID
    lease_id: uuid.UUID | None
    kind: str
    description: str
    amount_minor: int
    currency: str
    charge_date: date
    waived_at: datetime | None
    waive_reason: str | None
    invoice_id: uuid.UUID | None


class ChargeWaive(Strict):
    reason: str = Field(min_length=1, max_length=500)


@router.get("/{lease_id}/charges", response_model=Page[Charge])
async def list_charges(lease_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Page[Charge]:
    """One-off charges of the lease (a cancellation fee): staff; a client its own."""
    lease = await load_lease(session, lease_id, user)
    return Page(items=[Charge.model_validate(c) for c in await charges_svc.lease_charges(session, lease.id)])


@router.post("/{lease_id}/charges/{charge_id}/waive", response_model=Charge)
async def waive_charge(
    lease_id: uuid.UUID, charge_id: uuid.UUID, body: ChargeWaive, user: StaffUser, session: SessionDep
) -> Charge:
    """Staff only: waive a charge not yet billed (409 once it is on an invoice). Audited."""
    lease = await load_lease(session, lease_id, user)
    charge = await charges_svc.get_charge(session, charge_id, for_update=True)
    if charge.lease_id != lease.id:
        raise NotFound("charge not found")
    return Charge.model_validate(await charges_svc.waive_charge(session, user, charge, body.reason))
