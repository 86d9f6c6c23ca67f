"""Issue 11's lease routes: the notice period, rejection of a pending lease, renewal.

Edges only: each route loads the lease under the tenant filter (404 when not yours), calls one
use-case (domain/leasing/notice.py, lifecycle.py, renewal.py) and renders the lease."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from domain.leasing import lifecycle, notice, renewal
from domain.leasing.schemas import Lease, LeaseReject, LeaseRenew, NoticeSet, RenewalModeSet
from domain.models import RenewalMode
from service.api.leases import RenewalWindow, _view, load_lease
from service.auth import FinanceUser, StaffUser
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1/leases", tags=["leases"])


@router.post("/{lease_id}/reject", response_model=Lease)
async def reject_lease(
    lease_id: uuid.UUID, body: LeaseReject, user: FinanceUser, session: SessionDep, window: RenewalWindow
) -> Lease:
    """Reject a lease waiting for approval, with a reason. Roles: admin, finance (those who approve).

    The lease is cancelled at once: its seats are free again, nothing is billed or provisioned; the
    reason is kept on the lease (`rejection_reason`) and in the audit log (`lease.reject`). 409
    unless the lease is pending_approval."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await lifecycle.reject_lease(session, user, lease, body.reason)
    return await _view(session, lease, window)


@router.put("/{lease_id}/notice", response_model=Lease)
async def set_notice(lease_id: uuid.UUID, body: NoticeSet, user: StaffUser, session: SessionDep, window: RenewalWindow) -> Lease:
    """Set the lease's notice period in days (0–730). Roles: admin, facility_staff.

    A client ending a rolling lease gets an end date no earlier than today (the site's calendar) plus
    this notice. A dated amendment (`notice_set`), audited (`lease.notice`). 409 when the lease is
    ended or cancelled."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await notice.set_notice(session, user, lease, body.notice_days)
    return await _view(session, lease, window)


@router.put("/{lease_id}/renewal", response_model=Lease)
async def set_renewal_mode(
    lease_id: uuid.UUID, body: RenewalModeSet, user: StaffUser, session: SessionDep, window: RenewalWindow
) -> Lease:
    """What happens at a fixed-term lease's term end. Roles: admin, facility_staff.

    `manual`: staff decide (renew, or let it run out); `auto`: the worker renews it for the same term
    on its term end date; `lapse`: marked not to be renewed (it leaves the up-for-renewal list and
    ends on its term end). Audited (`lease.renewal_mode`). 409 for a rolling lease, one ended early,
    or one not confirmed or active."""
    lease = await load_lease(session, lease_id, user, for_update=True)
    await renewal.set_renewal_mode(session, user, lease, RenewalMode(body.renewal_mode), reason=body.reason)
    return await _view(session, lease, window)


@router.post("/{lease_id}/renew", response_model=Lease)
async def renew_lease(
    lease_id: uuid.UUID, body: LeaseRenew, user: StaffUser, session: SessionDep, window: RenewalWindow, idem: IdempotencyDep
) -> JSONResponse:
    """Renew a fixed-term lease for a new term. Roles: admin, facility_staff.

    The new term starts the day after the current term end and runs to `end_date` (default: as long
    as the current term, in whole months when it is whole months). The lease keeps the very same
    seats, held without a gap (its seat periods are extended, never re-allocated). `seat_price_minor`
    optionally sets the new term's monthly seat price (the site's currency), recorded in the renewal
    amendment (`renewed`). Audited (`lease.renew`).

    422 naming `end_date` when it is not after the current term end; 409 for a rolling lease, one ended
    early, or one not confirmed or active, and 409 `seats-unavailable` when another lease holds a
    seat after the term end. A retry is safe with an `Idempotency-Key` header (the same key and body
    replay the first answer; without one a second default renewal renews again) or with `end_date`
    (the second is refused, the term end having moved)."""
    lease = await load_lease(session, lease_id, user, for_update=True)

    async def make() -> Lease:
        await renewal.renew_lease(
            session, user, lease, end_date=body.end_date, seat_price_minor=body.seat_price_minor, reason=body.reason
        )
        return await _view(session, lease, window)

    return await idem.run(session, str(user.subject), body, make, status_code=200)
