"""Read-model of a lease's changes during its term (issue 11), for the admin's lease page: the
floors it can move to, the add-ons its plan offers, its dated add-ons and its seat moves."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.leasing.addons import add_on_periods
from domain.leasing.change_schemas import AddOnPeriod
from domain.models import Floor, Inclusion, Lease, LeaseSeatMove, Member, Seat


class MoveRow(NamedTuple):
    effective_date: date
    from_label: str
    to_label: str
    member: str | None


class ChangesView(NamedTuple):
    floors: list[Floor]
    add_on_choices: list[Inclusion]  # the plan's monthly add-ons
    add_on_periods: list[AddOnPeriod]
    moves: list[MoveRow]
    # moves still to come on ``day``: seat moved to → from when; seat moved from → the day before
    moving_in: dict[uuid.UUID, date]
    moving_out: dict[uuid.UUID, date]


async def lease_changes_view(session: AsyncSession, lease: Lease, day: date) -> ChangesView:
    """What the lease page shows of the lease's changes, with the moves still to come on ``day``."""
    floors = list((await session.scalars(select(Floor).where(Floor.site_id == lease.site_id).order_by(Floor.level))).all())
    choices = list(
        (
            await session.scalars(
                select(Inclusion)
                .where(Inclusion.plan_id == lease.plan_id, Inclusion.billing == "monthly")
                .order_by(Inclusion.code)
            )
        ).all()
    )
    old, new = aliased(Seat), aliased(Seat)
    rows = await session.execute(
        select(
            LeaseSeatMove.effective_date, old.label, new.label, Member.name, LeaseSeatMove.from_seat_id, LeaseSeatMove.to_seat_id
        )
        .join(old, old.id == LeaseSeatMove.from_seat_id)
        .join(new, new.id == LeaseSeatMove.to_seat_id)
        .outerjoin(Member, Member.id == LeaseSeatMove.member_id)
        .where(LeaseSeatMove.lease_id == lease.id)
        .order_by(LeaseSeatMove.effective_date, old.label)
    )
    moves = rows.all()
    pending = [m for m in moves if m.effective_date > day]
    return ChangesView(
        floors,
        choices,
        await add_on_periods(session, lease),
        [MoveRow(*m[:4]) for m in moves],
        {m.to_seat_id: m.effective_date for m in pending},
        {m.from_seat_id: m.effective_date - timedelta(days=1) for m in pending},
    )
