"""A lease's life after booking: seats added and released, ended, cancelled, approved, assigned.

Each use-case validates, writes, audits and wakes the provisioning reconciler
(``domain.events.leases_changed``) itself, exactly once: the edges only call and render."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import InvalidState, NotFound, SeatsUnavailable, ValidationFailed
from domain.leasing import notice
from domain.leasing.availability import taken_labels
from domain.leasing.booking import enforce_seat_cap, wanted_seats
from domain.leasing.seats import HeldSeat, insert_seats, lock_seats, sqlstate
from domain.leasing.state import advance_status, lease_site, require_live
from domain.models import (
    Lease,
    LeaseAmendment,
    LeaseSeat,
    Member,
    Seat,
    SeatAssignment,
    Shift,
)
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import shift_window, site_today
from domain.services.charges import ClientLimits, charge_cancellation_fee, charge_early_termination_fee


async def add_seats(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    seat_count: int | None,
    seat_ids: list[uuid.UUID] | None,
    effective: date,
    is_staff: bool,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> list[HeldSeat]:
    require_live(lease)
    site = await lease_site(session, lease)
    if not is_staff and effective < site_today(site, now):
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    if effective < lease.start_date or (lease.end_date is not None and effective > lease.end_date):
        raise ValidationFailed("effective date is outside the lease term", field="effective")
    if not is_staff:
        wanted, field = wanted_seats(seat_count, seat_ids)
        await enforce_seat_cap(
            session, lease.client_id, wanted, (limits or ClientLimits()).seat_cap_default, site_today(site, now), field
        )
    shift = await session.get(Shift, lease.shift_id)
    assert shift is not None
    near = {
        (f, z)
        for f, z in (
            await session.execute(
                select(Seat.floor_id, Seat.zone)
                .join(LeaseSeat, LeaseSeat.seat_id == Seat.id)
                .where(LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False))
                .distinct()
            )
        ).all()
    }
    rows = await insert_seats(
        session, lease, shift_window(shift), effective, lease.end_date, seat_count=seat_count, seat_ids=seat_ids, near=near
    )
    details = {"seat_ids": [str(r.seat_id) for r in rows]}
    session.add(
        LeaseAmendment(lease_id=lease.id, kind="seats_added", effective_date=effective, details=details, actor_id=actor.subject)
    )
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "lease.seats_added",
        "lease",
        lease.id,
        after={"effective": effective, **details},
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return rows


async def release_seat(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    seat_id: uuid.UUID,
    *,
    effective: date,
    is_staff: bool,
    now: datetime | None = None,
) -> None:
    """Release a seat from `effective` on (its last day is the day before)."""
    require_live(lease)
    site = await lease_site(session, lease)
    if not is_staff and effective < site_today(site, now):
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    rows = (
        await session.scalars(
            select(LeaseSeat).where(LeaseSeat.lease_id == lease.id, LeaseSeat.seat_id == seat_id, LeaseSeat.voided.is_(False))
        )
    ).all()
    live = [r for r in rows if r.end_date is None or r.end_date >= effective]
    if not live:
        raise NotFound("seat not held by this lease on that date")
    for r in live:
        if r.start_date >= effective:
            r.voided = True
        else:
            r.end_date = effective - timedelta(days=1)
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id, SeatAssignment.seat_id == seat_id))
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="seat_released",
            effective_date=effective,
            details={"seat_id": str(seat_id)},
            actor_id=actor.subject,
        )
    )
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "lease.seat_released",
        "lease",
        lease.id,
        after={"effective": effective, "seat_id": seat_id},
        client_id=lease.client_id,
    )
    await events.leases_changed(session)


async def end_lease(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    end_date: date,
    *,
    is_staff: bool,
    now: datetime | None = None,
    reason: str | None = None,
    early_termination_fee_minor: int | None = None,
) -> Lease:
    """Set the lease's last day (earlier or later). Notice and early termination: domain/leasing/notice.py."""
    if lease.status not in ("confirmed", "active"):
        raise InvalidState(f"a lease that is {lease.status} cannot be ended")
    site = await lease_site(session, lease)
    today = site_today(site, now)
    if not is_staff and end_date < today:
        raise ValidationFailed("a lease cannot be ended as of a past date", field="end_date")
    if end_date < lease.start_date:
        raise ValidationFailed("end_date is before the lease start", field="end_date")
    # --- notice and early termination (issue 11, renewal) ---
    early = notice.check_end(lease, end_date, today, is_staff=is_staff, reason=reason, fee_minor=early_termination_fee_minor)
    if lease.term_end_date is not None and end_date > lease.term_end_date:
        lease.term_end_date = end_date  # a fixed term lengthened by staff: the term follows
    # --- end notice ---
    before = snapshot(lease)
    old_end = lease.end_date
    rows = (await session.scalars(select(LeaseSeat).where(LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False)))).all()
    # a longer term is a new claim on the seats: queue behind bookings of them like a booking does
    seat_ids = sorted({r.seat_id for r in rows})
    window = (rows[0].window_start_min, rows[0].window_end_min) if rows else (0, 0)
    # read now: a refused savepoint expires the lease's attributes
    site_id, from_day = lease.site_id, old_end + timedelta(days=1) if old_end else lease.start_date
    await lock_seats(session, seat_ids)
    try:
        async with session.begin_nested():
            for r in rows:
                if r.start_date > end_date:
                    r.voided = True
                elif r.end_date is None or r.end_date > end_date or r.end_date == old_end:
                    r.end_date = end_date
            lease.end_date = end_date
            await session.flush()
    except IntegrityError as exc:
        if sqlstate(exc) == "23P01":
            with session.no_autoflush:  # the refused rows stay unflushed: read, don't write them again
                taken = await taken_labels(session, site_id, seat_ids, window, from_day, end_date)
            raise SeatsUnavailable(
                "taken after the current end date: " + ", ".join(taken)
                if taken
                else "the seats are taken after the current end date",
                field="end_date",
                taken_seats=taken,
            ) from exc
        raise
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="end_date_set",
            effective_date=end_date,
            details={
                "previous_end_date": old_end.isoformat() if old_end else None,
                # --- notice and early termination (issue 11, renewal) ---
                "early_termination": early,
                "reason": reason,
                "early_termination_fee_minor": early_termination_fee_minor,
            },
            actor_id=actor.subject,
        )
    )
    await advance_status(session, lease, today)
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    # --- notice and early termination (issue 11, renewal) ---
    if early_termination_fee_minor is not None and reason is not None:
        await charge_early_termination_fee(session, actor, lease, site, today, early_termination_fee_minor, reason, end_date)
    after = {
        **snapshot(lease),
        "early_termination": early,
        "reason": reason,
        "early_termination_fee_minor": early_termination_fee_minor,
    }
    # --- end notice ---
    await record(session, actor, "lease.end", "lease", lease.id, before=before, after=after, client_id=lease.client_id)
    await events.leases_changed(session)
    return lease


async def cancel_lease(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    *,
    is_staff: bool = True,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> Lease:
    """Cancel a lease before its start. A client cancelling inside the fee window owes a
    cancellation fee (domain/services/charges.py), billed on its next invoice; staff do not
    charge one."""
    site = await lease_site(session, lease)
    today = site_today(site, now)
    if lease.status not in ("pending_approval", "confirmed") or lease.start_date <= today:
        raise InvalidState("only a lease that has not started can be cancelled; end it instead")
    if not is_staff:
        await charge_cancellation_fee(session, actor, lease, site, today, limits or ClientLimits())
    before = snapshot(lease)
    await session.execute(update(LeaseSeat).where(LeaseSeat.lease_id == lease.id).values(voided=True))
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    lease.status = "cancelled"
    lease.cancelled_at = datetime.now(UTC)
    session.add(
        LeaseAmendment(lease_id=lease.id, kind="cancelled", effective_date=lease.start_date, details={}, actor_id=actor.subject)
    )
    await session.flush()
    await record(
        session, actor, "lease.cancel", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id
    )
    await events.leases_changed(session)
    return lease


async def approve_lease(session: AsyncSession, actor: Actor, lease: Lease, *, now: datetime | None = None) -> Lease:
    if lease.status != "pending_approval":
        raise InvalidState(f"the lease is {lease.status}, not pending approval")
    before = snapshot(lease)
    lease.status = "confirmed"
    lease.approved_by = actor.subject
    await advance_status(session, lease, site_today(await lease_site(session, lease), now))
    await session.flush()
    await record(
        session, actor, "lease.approve", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id
    )
    await events.leases_changed(session)
    return lease


# --- approvals: reject with a reason (issue 11, renewal) ---


async def reject_lease(session: AsyncSession, actor: Actor, lease: Lease, reason: str) -> Lease:
    """Finance refuse a lease waiting for approval, with a reason: it is cancelled (its seats are
    freed at once, nothing is billed or provisioned), the reason kept on the lease and audited."""
    if lease.status != "pending_approval":
        raise InvalidState(f"the lease is {lease.status}, not pending approval")
    before = snapshot(lease)
    await session.execute(update(LeaseSeat).where(LeaseSeat.lease_id == lease.id).values(voided=True))
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    lease.status = "cancelled"
    lease.cancelled_at = datetime.now(UTC)
    lease.rejection_reason = reason
    lease.updated_at = datetime.now(UTC)
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="rejected",
            effective_date=lease.start_date,
            details={"reason": reason},
            actor_id=actor.subject,
        )
    )
    await session.flush()
    await record(
        session, actor, "lease.reject", "lease", lease.id, before=before, after=snapshot(lease), client_id=lease.client_id
    )
    await events.leases_changed(session)
    return lease


# --- end approvals ---


async def set_assignments(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    pairs: list[tuple[uuid.UUID, uuid.UUID]],
    *,
    now: datetime | None = None,
) -> list[SeatAssignment]:
    require_live(lease)
    # each refusal names the seats whose rows are wrong (`seat_ids`), so a form can mark those rows
    seats_ = [s for s, _ in pairs]
    members_ = [m for _, m in pairs]
    twice = sorted({str(s) for s in seats_ if seats_.count(s) > 1})
    if twice:
        raise ValidationFailed("a seat appears twice", field="seat_id", seat_ids=twice)
    members = {m.id: m for m in (await session.scalars(select(Member).where(Member.id.in_(members_)))).all()}
    doubled = next((m for m in members_ if members_.count(m) > 1), None)
    if doubled is not None:
        name = members[doubled].name if doubled in members else str(doubled)
        raise ValidationFailed(
            f"a member appears twice: {name} is chosen for more than one seat",
            field="member_id",
            seat_ids=[str(s) for s, m in pairs if m == doubled],
        )
    site = await lease_site(session, lease)
    today = max(site_today(site, now), lease.start_date)
    held = set(
        (
            await session.scalars(
                select(LeaseSeat.seat_id).where(
                    LeaseSeat.lease_id == lease.id,
                    LeaseSeat.voided.is_(False),
                    or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= today),
                )
            )
        ).all()
    )
    bad_seat = [s for s in seats_ if s not in held]
    if bad_seat:
        raise ValidationFailed(
            f"seat {bad_seat[0]} is not held by this lease", field="seat_id", seat_ids=[str(s) for s in bad_seat]
        )
    bad = [(s, m) for s, m in pairs if m not in members or members[m].client_id != lease.client_id or not members[m].active]
    if bad:
        m0 = bad[0][1]
        who = f"{members[m0].name} ({m0})" if m0 in members and members[m0].client_id == lease.client_id else str(m0)
        raise ValidationFailed(
            f"member {who} is not an active member of this client", field="member_id", seat_ids=[str(s) for s, _ in bad]
        )
    before = [
        {"seat_id": str(a.seat_id), "member_id": str(a.member_id)}
        for a in (await session.scalars(select(SeatAssignment).where(SeatAssignment.lease_id == lease.id))).all()
    ]
    await session.execute(delete(SeatAssignment).where(SeatAssignment.lease_id == lease.id))
    rows = [SeatAssignment(lease_id=lease.id, seat_id=s, member_id=m) for s, m in pairs]
    session.add_all(rows)
    await session.flush()
    await record(
        session,
        actor,
        "lease.assignments",
        "lease",
        lease.id,
        before={"assignments": before},
        after={"assignments": [{"seat_id": str(s), "member_id": str(m)} for s, m in pairs]},
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return rows
