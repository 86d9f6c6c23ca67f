"""Seat moves during a term (issue 11): one seat of a lease, with its agent, or every seat of a lease
(to another floor), moved to other free seats from a date, in one amendment.

The old seat's lease_seats row ends the day before the move (or is voided when it would start on
or after it) and the new seat's row starts that day, to the lease's end: the exclusion constraint
decides whether the new seat is free, under the seat's booking lock (domain/leasing/seats.py), so
concurrent moves and bookings onto one seat never double-book it and the loser gets 409. The seat
count never changes, so billing does not either (billing/run_facts.py joins the two rows into one
seat). The assignment points at the new seat at once; until the move's date its agent still sits
at the old one (domain/models/seat_on.py), so credentials and badge groups follow on the date, and
the devices pass carries the seat's devices over on the date (provisioning/providers/devices.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from domain.leasing.change_schemas import FloorMoveIn, SeatMoveIn
from domain.leasing.seats import insert_seats
from domain.leasing.state import lease_site, require_live
from domain.models import Floor, Lease, LeaseAmendment, LeaseSeat, LeaseSeatMove, Seat, SeatAssignment, Shift
from domain.services.audit import Actor, record
from domain.services.catalog import shift_window, site_today


class MovePending(Conflict):
    title = "Move pending"
    type_suffix = "move-pending"


async def _check_date(session: AsyncSession, lease: Lease, effective: date, is_staff: bool, now: datetime | None) -> date:
    require_live(lease)
    today = site_today(await lease_site(session, lease), now)
    if not is_staff and effective < today:
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    if effective < lease.start_date or (lease.end_date is not None and effective > lease.end_date):
        raise ValidationFailed("effective date is outside the lease term", field="effective")
    return today


async def _rows_on(session: AsyncSession, lease: Lease, effective: date) -> dict[uuid.UUID, LeaseSeat]:
    """The lease's live rows that hold their seat on ``effective``, by seat (locked: a concurrent
    amendment of the same lease queues behind this one)."""
    rows = (
        await session.scalars(
            select(LeaseSeat)
            .where(
                LeaseSeat.lease_id == lease.id,
                LeaseSeat.voided.is_(False),
                LeaseSeat.start_date <= effective,
                or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= effective),
            )
            .order_by(LeaseSeat.start_date)
            .with_for_update()
        )
    ).all()
    return {r.seat_id: r for r in rows}


async def _refuse_backwards(session: AsyncSession, lease: Lease, seat_ids: Sequence[uuid.UUID], effective: date) -> None:
    """A seat's moves go forward in time: a move of a seat with a move to or from it on or after
    ``effective`` is refused, so that the seat an agent sits at on a day is one walk back through
    its moves (domain/models/seat_on.py)."""
    later = (
        await session.execute(
            select(LeaseSeatMove.effective_date, Seat.label)
            .join(Seat, Seat.id == LeaseSeatMove.to_seat_id)
            .where(
                LeaseSeatMove.lease_id == lease.id,
                LeaseSeatMove.effective_date >= effective,
                or_(LeaseSeatMove.to_seat_id.in_(seat_ids), LeaseSeatMove.from_seat_id.in_(seat_ids)),
            )
            .order_by(LeaseSeatMove.effective_date.desc())
            .limit(1)
        )
    ).first()
    if later is not None:
        raise MovePending(
            f"this seat has a move (to {later.label}) on {later.effective_date.isoformat()}; "
            "a further move must take effect after that date",
            field="effective",
            pending_effective=later.effective_date.isoformat(),
        )


async def _apply(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    kind: str,
    effective: date,
    rows: Sequence[LeaseSeat],
    *,
    to_seat_ids: Sequence[uuid.UUID] | None,
    floor_id: uuid.UUID | None = None,
) -> list[LeaseSeatMove]:
    """End ``rows`` the day before ``effective``, take the new seats from that day (named, in the
    rows' order, or allocated together on ``floor_id``), carry the assignments over, record it."""
    for r in rows:
        if r.start_date >= effective:
            r.voided = True
        else:
            r.end_date = effective - timedelta(days=1)
    await session.flush()  # a seat given up here may be taken again by the same move
    shift = await session.get(Shift, lease.shift_id)
    assert shift is not None
    try:
        held = await insert_seats(
            session,
            lease,
            shift_window(shift),
            effective,
            lease.end_date,
            seat_count=None if to_seat_ids is not None else len(rows),
            seat_ids=to_seat_ids,
            floor=floor_id,
        )
    except DomainError as exc:
        if kind == "seat_moved" and exc.field == "seat_ids":
            exc.field = "to_seat_id"
        raise
    targets = [h.seat_id for h in held]
    if to_seat_ids is None:
        # allocated seats in map order (label), so agents keep their places relative to each other
        order = {s.id: s.label for s in (await session.scalars(select(Seat).where(Seat.id.in_(targets)))).all()}
        targets.sort(key=lambda s: order[s])
    assigned = {
        a.seat_id: a
        for a in (
            await session.scalars(
                select(SeatAssignment).where(
                    SeatAssignment.lease_id == lease.id, SeatAssignment.seat_id.in_([r.seat_id for r in rows])
                )
            )
        ).all()
    }
    amendment = LeaseAmendment(lease_id=lease.id, kind=kind, effective_date=effective, details={}, actor_id=actor.subject)
    session.add(amendment)
    await session.flush()
    moves: list[LeaseSeatMove] = []
    pairs = list(zip([r.seat_id for r in rows], targets, strict=True))
    for a, b in pairs:
        if a in assigned:
            assigned[a].seat_id = b
    for a, b in pairs:
        member = assigned[a].member_id if a in assigned else None
        moves.append(
            LeaseSeatMove(
                lease_id=lease.id,
                amendment_id=amendment.id,
                from_seat_id=a,
                to_seat_id=b,
                member_id=member,
                effective_date=effective,
            )
        )
    session.add_all(moves)
    amendment.details = {
        "moves": [
            {"from_seat_id": str(m.from_seat_id), "to_seat_id": str(m.to_seat_id), "member_id": m.member_id and str(m.member_id)}
            for m in moves
        ],
        **({"floor_id": str(floor_id)} if floor_id else {}),
    }
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        f"lease.{kind}",
        "lease",
        lease.id,
        after={"effective": effective, **amendment.details},
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return moves


async def move_seat(
    session: AsyncSession, actor: Actor, lease: Lease, req: SeatMoveIn, *, is_staff: bool, now: datetime | None = None
) -> LeaseSeatMove:
    """Move one seat of the lease, with the agent assigned to it, to a free seat of the same site
    and shift from ``req.effective``. 409 ``seats-unavailable`` when the target is not free from that
    date to the lease's end; 409 ``move-pending`` when the seat has a move on or after that date."""
    await _check_date(session, lease, req.effective, is_staff, now)
    seat_id = req.seat_id
    if seat_id is None:
        seat_id = await session.scalar(
            select(SeatAssignment.seat_id).where(SeatAssignment.lease_id == lease.id, SeatAssignment.member_id == req.member_id)
        )
        if seat_id is None:
            raise ValidationFailed("this member is not assigned to a seat of this lease", field="member_id")
    if seat_id == req.to_seat_id:
        raise ValidationFailed("to_seat_id is the seat being moved", field="to_seat_id")
    await _refuse_backwards(session, lease, [seat_id, req.to_seat_id], req.effective)
    rows = await _rows_on(session, lease, req.effective)
    row = rows.get(seat_id)
    if row is None:
        # an assignment may name the seat the agent moves to: its row starts on a later date
        raise ValidationFailed("the seat is not held by this lease on that date", field="seat_id" if req.seat_id else "member_id")
    moves = await _apply(session, actor, lease, "seat_moved", req.effective, [row], to_seat_ids=[req.to_seat_id])
    return moves[0]


async def move_floor(
    session: AsyncSession, actor: Actor, lease: Lease, req: FloorMoveIn, *, is_staff: bool, now: datetime | None = None
) -> list[LeaseSeatMove]:
    """Move every seat the lease holds on ``req.effective`` to ``req.floor_id`` from that date: to the
    named seats (one per seat held, on that floor) or to seats allocated there together; agents keep
    their relative places (seats in label order map to seats in label order)."""
    await _check_date(session, lease, req.effective, is_staff, now)
    floor = await session.get(Floor, req.floor_id)
    if floor is None or floor.site_id != lease.site_id:
        raise ValidationFailed("no such floor on this lease's site", field="floor_id")
    rows_by_seat = await _rows_on(session, lease, req.effective)
    if not rows_by_seat:
        raise NotFound("the lease holds no seat on that date")
    seats = {s.id: s for s in (await session.scalars(select(Seat).where(Seat.id.in_(list(rows_by_seat))))).all()}
    if all(s.floor_id == req.floor_id for s in seats.values()):
        raise ValidationFailed("the lease already sits on that floor", field="floor_id")
    await _refuse_backwards(session, lease, list(rows_by_seat), req.effective)
    rows = sorted(rows_by_seat.values(), key=lambda r: seats[r.seat_id].label)
    targets = None
    if req.seat_ids is not None:
        if len(req.seat_ids) != len(rows):
            raise ValidationFailed(f"the lease holds {len(rows)} seats on that date: name as many", field="seat_ids")
        picked = {s.id: s for s in (await session.scalars(select(Seat).where(Seat.id.in_(req.seat_ids)))).all()}
        off = [str(i) for i in req.seat_ids if i not in picked or picked[i].floor_id != req.floor_id]
        if off:
            raise ValidationFailed(f"seat {off[0]} is not on that floor", field="seat_ids")
        targets = sorted(req.seat_ids, key=lambda i: picked[i].label)
    return await _apply(session, actor, lease, "floor_moved", req.effective, rows, to_seat_ids=targets, floor_id=req.floor_id)


async def lease_moves(session: AsyncSession, lease_id: uuid.UUID) -> list[LeaseSeatMove]:
    return list(
        (
            await session.scalars(
                select(LeaseSeatMove)
                .where(LeaseSeatMove.lease_id == lease_id)
                .order_by(LeaseSeatMove.effective_date, LeaseSeatMove.created_at)
            )
        ).all()
    )
