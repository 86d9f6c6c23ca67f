"""Renewal of fixed-term leases (issue 11): up for renewal, renew, let lapse, auto-renew.

A fixed-term lease (``term_end_date`` set) is **up for renewal** from ``window_days`` (a setting)
before its term ends while it is confirmed or active, runs to its term end (not ended early) and is
not marked to lapse. Staff renew it for a new term (by default as long as the current one) with the
same seats: the lease's seat rows that run to the term end are extended in place, so the seats are
held without a gap and never re-allocated; the exclusion constraint refuses the extension when
another booking holds a seat after the term end (409, nothing changed). A renewal may carry a new
seat price: the lease's seat price from the new term's first day (a dated price,
domain/leasing/terms.py ``set_seat_price_from``, so billing prorates it like any dated price), also
recorded in the renewal's amendment (``details.seat_price_minor``).

The worker's daily pass (domain/leasing/worker_pass.py ``renew_due_leases``) renews the leases set to
``auto`` on their term end date, exactly once however many workers run it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain import events
from domain.errors import InvalidState, SeatsUnavailable, ValidationFailed
from domain.leasing.availability import taken_labels
from domain.leasing.seats import lock_seats, sqlstate
from domain.leasing.state import lease_site
from domain.leasing.terms import set_seat_price_from
from domain.models import Lease, LeaseAmendment, LeaseSeat, RenewalMode, Site
from domain.rules.renewal import renewal_window_starts, same_term_end
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import site_today

DEFAULT_RENEWAL_WINDOW_DAYS = 60
RENEWABLE_STATUSES = ("confirmed", "active")


def term_start(lease: Lease) -> date:
    return lease.term_start_date or lease.start_date


def up_for_renewal(lease: Lease, today: date, window_days: int) -> bool:
    """The one rule (the SQL twin is `up_for_renewal_clause`)."""
    return (
        lease.status in RENEWABLE_STATUSES
        and lease.term_end_date is not None
        and lease.end_date == lease.term_end_date
        and lease.renewal_mode != RenewalMode.LAPSE
        and today >= renewal_window_starts(lease.term_end_date, window_days)
    )


def up_for_renewal_clause(window_days: int) -> ColumnElement[bool]:
    """`up_for_renewal` in SQL, each lease on its own site's calendar."""
    site = aliased(Site)  # the list may join sites itself: correlate the lease only
    site_today_ = (
        select(cast(func.timezone(site.timezone, func.now()), Date))
        .where(site.id == Lease.site_id)
        .correlate(Lease)
        .scalar_subquery()
    )
    return and_(
        Lease.status.in_(RENEWABLE_STATUSES),
        Lease.term_end_date.is_not(None),
        Lease.end_date == Lease.term_end_date,
        Lease.renewal_mode != RenewalMode.LAPSE.value,
        Lease.term_end_date <= site_today_ + literal(window_days),
    )


def _require_renewable(lease: Lease) -> date:
    if lease.status not in RENEWABLE_STATUSES:
        raise InvalidState(f"a lease that is {lease.status} cannot be renewed")
    if lease.term_end_date is None:
        raise InvalidState("a rolling lease has no term to renew; it runs until notice is given")
    if lease.end_date != lease.term_end_date:
        raise InvalidState(f"the lease was ended early (on {lease.end_date}); it has no term end to renew from")
    return lease.term_end_date


async def renew_lease(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    end_date: date | None = None,
    seat_price_minor: int | None = None,
    reason: str | None = None,
    automatic: bool = False,
) -> Lease:
    """A new term from the day after the current term end to `end_date` (default: as long as the
    current term), the same seats held without a gap. Audited as lease.renew (lease.auto_renew
    by the worker). The caller holds the lease row locked."""
    old_end = _require_renewable(lease)
    new_end = end_date or same_term_end(term_start(lease), old_end)
    if new_end <= old_end:
        raise ValidationFailed(f"the new term must end after the current term end {old_end}", field="end_date")
    before = snapshot(lease)
    rows = (
        await session.scalars(
            select(LeaseSeat).where(LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False), LeaseSeat.end_date == old_end)
        )
    ).all()
    # the extension is a new claim on the seats: queue behind bookings of them as a booking does
    seat_ids = sorted({r.seat_id for r in rows})
    window = (rows[0].window_start_min, rows[0].window_end_min) if rows else (0, 0)
    site_id = lease.site_id  # read now: a refused savepoint expires the lease's attributes
    await lock_seats(session, seat_ids)
    try:
        async with session.begin_nested():
            for r in rows:
                r.end_date = new_end
            lease.end_date = new_end
            lease.term_end_date = new_end
            lease.term_start_date = old_end + timedelta(days=1)
            await session.flush()
    except IntegrityError as exc:
        if sqlstate(exc) == "23P01":
            with session.no_autoflush:  # the refused rows stay unflushed: read, don't write them again
                taken = await taken_labels(session, site_id, seat_ids, window, old_end + timedelta(days=1), new_end)
            raise SeatsUnavailable(
                "booked by another lease after the term end, so the lease cannot keep them: " + ", ".join(taken)
                if taken
                else "a seat of the lease is booked by another lease after the term end; the lease cannot keep its seats",
                field="end_date",
                taken_seats=taken,
            ) from exc
        raise
    if lease.renewal_mode == RenewalMode.LAPSE:
        lease.renewal_mode = RenewalMode.MANUAL.value  # renewing overrides an earlier decision to lapse
    lease.updated_at = datetime.now(UTC)
    site = await lease_site(session, lease)
    details: dict[str, Any] = {
        "previous_end_date": old_end.isoformat(),
        "term_start_date": lease.term_start_date.isoformat(),
        "end_date": new_end.isoformat(),
        "automatic": automatic,
        "reason": reason,
        "seats": len(rows),
    }
    if seat_price_minor is not None:  # the new term's seat price, also on the renewal's record
        details["seat_price_minor"] = seat_price_minor
        details["currency"] = site.currency
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="renewed",
            effective_date=lease.term_start_date,
            details=details,
            actor_id=actor.subject,
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "lease.auto_renew" if automatic else "lease.renew",
        "lease",
        lease.id,
        before=before,
        after={**snapshot(lease), "renewal": details},
        client_id=lease.client_id,
    )
    if seat_price_minor is not None:  # from the new term's first day (the end was extended above)
        await set_seat_price_from(
            session, lease, lease.term_start_date, seat_price_minor, actor, reason=reason or "renewal at a new price"
        )
    await events.leases_changed(session)
    return lease


async def set_renewal_mode(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    mode: RenewalMode,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> Lease:
    """Staff decide what happens at the term end: manual, auto (renew for the same term) or lapse
    (not to be renewed: the lease ends on its term end). Audited, with a dated amendment."""
    _require_renewable(lease)
    previous = lease.renewal_mode
    if previous == mode:
        return lease
    lease.renewal_mode = mode.value
    lease.updated_at = datetime.now(UTC)
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="renewal_mode_set",
            effective_date=site_today(await lease_site(session, lease), now),
            details={"previous": previous, "renewal_mode": mode.value, "reason": reason},
            actor_id=actor.subject,
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "lease.renewal_mode",
        "lease",
        lease.id,
        before={"renewal_mode": previous},
        after={"renewal_mode": mode.value, "reason": reason},
        client_id=lease.client_id,
    )
    return lease
