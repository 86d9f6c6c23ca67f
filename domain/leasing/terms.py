"""Issue 11, terms that hold: what a lease copies from its plan when it is booked, and its dated
seat prices afterwards (price steps, yearly escalation). Billing reads only what is written here
(billing/run_facts.py), never the plan's prices.

`set_seat_price_from` is the one use-case for "from this date the seat costs this": staff's
schedule of dated prices, and a renewal at a new price."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound, ValidationFailed
from domain.leasing.state import require_live
from domain.leasing.terms_schemas import LeaseTerms, PriceStep
from domain.models import Lease, LeaseAmendment, LeasePriceStep, Plan, PlanPrice
from domain.rules.pricing import price_on
from domain.services.audit import Actor, record, snapshot
from domain.services.plan_prices import PlanTerms, terms_of

_PCT = Decimal("0.01")


def snapshot_terms(lease: Lease, plan: Plan, price: PlanPrice | None, notice_days: int | None) -> PlanTerms:
    """Copy onto a new lease the plan's prices in force on its start date (`price`, the plan's
    dated price then, read with the booking's first query; None: as created), and its notice
    period unless staff set one. Returns them (their add-on prices go onto the lease's add-ons)."""
    terms = terms_of(plan, price)
    lease.monthly_price_minor = terms.monthly_price_minor
    lease.setup_fee_minor = terms.setup_fee_minor
    lease.deposit_months = terms.deposit_months
    lease.notice_days = plan.notice_days if notice_days is None else notice_days
    return terms


def _check_step(lease: Lease, effective_date: date, field: str) -> None:
    if effective_date <= lease.start_date:
        raise ValidationFailed(
            f"a price step takes effect after the lease's start ({lease.start_date.isoformat()}); "
            "the price from the start is the lease's own",
            field=field,
        )
    if lease.end_date is not None and effective_date > lease.end_date:
        raise ValidationFailed(
            f"a price step takes effect on or before the lease's end ({lease.end_date.isoformat()})", field=field
        )


async def add_price_steps(
    session: AsyncSession, lease: Lease, steps: Sequence[tuple[date, int]], actor_id: uuid.UUID | None
) -> None:
    """A booking's schedule of dated prices (checked here, written with the lease)."""
    seen: set[date] = set()
    for when, _price in steps:
        _check_step(lease, when, "price_steps")
        if when in seen:
            raise ValidationFailed(f"two price steps on {when.isoformat()}", field="price_steps")
        seen.add(when)
    session.add_all(
        LeasePriceStep(lease_id=lease.id, effective_date=when, monthly_price_minor=price, actor_id=actor_id)
        for when, price in steps
    )


async def set_seat_price_from(
    session: AsyncSession,
    lease: Lease,
    effective_date: date,
    price_minor: int,
    actor: Actor,
    reason: str | None = None,
) -> LeasePriceStep:
    """From `effective_date` on (after the start, on or before the end if the lease has one), the
    lease's monthly seat price is `price_minor`; a yearly escalation continues from it on later
    anniversaries. A step already on that date is replaced. Dated amendment + audit event; a date in
    an invoiced month is trued up by the next run like any other dated change. The lease must be
    live (pending_approval, confirmed or active): 409 otherwise."""
    require_live(lease)
    _check_step(lease, effective_date, "effective_date")
    if price_minor < 0:
        raise ValidationFailed("a price is not negative", field="monthly_price_minor")
    before = await session.scalar(
        select(LeasePriceStep.monthly_price_minor).where(
            LeasePriceStep.lease_id == lease.id, LeasePriceStep.effective_date == effective_date
        )
    )
    stmt = insert(LeasePriceStep).values(
        lease_id=lease.id, effective_date=effective_date, monthly_price_minor=price_minor, reason=reason, actor_id=actor.subject
    )
    step_id = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=["lease_id", "effective_date"],
            set_={"monthly_price_minor": price_minor, "reason": reason, "actor_id": actor.subject},
        ).returning(LeasePriceStep.id)
    )
    step = await session.get_one(LeasePriceStep, step_id, populate_existing=True)
    details = {"monthly_price_minor": price_minor, "previous_step_minor": before, "reason": reason}
    session.add(
        LeaseAmendment(
            lease_id=lease.id, kind="price_step", effective_date=effective_date, details=details, actor_id=actor.subject
        )
    )
    await record(
        session,
        actor,
        "lease.price_step",
        "lease",
        lease.id,
        before={"effective_date": effective_date, "monthly_price_minor": before} if before is not None else None,
        after=snapshot(step),
        client_id=lease.client_id,
    )
    await session.flush()
    return step


async def remove_price_step(session: AsyncSession, lease: Lease, effective_date: date, actor: Actor) -> None:
    """Drop the lease's price step on that date (404 when there is none)."""
    require_live(lease)
    step = await session.scalar(
        select(LeasePriceStep).where(LeasePriceStep.lease_id == lease.id, LeasePriceStep.effective_date == effective_date)
    )
    if step is None:
        raise NotFound("no price step on that date")
    before = snapshot(step)
    await session.delete(step)
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="price_step_removed",
            effective_date=effective_date,
            details={"monthly_price_minor": before["monthly_price_minor"]},
            actor_id=actor.subject,
        )
    )
    await record(session, actor, "lease.price_step_remove", "lease", lease.id, before=before, client_id=lease.client_id)
    await session.flush()


async def set_escalation(
    session: AsyncSession, lease: Lease, escalation_pct: Decimal | None, actor: Actor, reason: str | None = None
) -> Lease:
    """The lease's yearly raise on each anniversary of its start (None or 0: none); audited, with a
    dated amendment dated the lease's start (the anniversaries count from it). Anniversaries already
    invoiced are trued up by the next run like any dated change."""
    require_live(lease)
    pct = escalation_pct if escalation_pct else None
    before = None if lease.escalation_pct is None else str(Decimal(lease.escalation_pct).quantize(_PCT))
    lease.escalation_pct = pct
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="escalation",
            effective_date=lease.start_date,
            details={"escalation_pct": None if pct is None else str(pct), "previous": before, "reason": reason},
            actor_id=actor.subject,
        )
    )
    await record(
        session,
        actor,
        "lease.escalation",
        "lease",
        lease.id,
        before={"escalation_pct": before},
        after={"escalation_pct": None if pct is None else str(pct), "reason": reason},
        client_id=lease.client_id,
    )
    await session.flush()
    return lease


async def price_steps_of(session: AsyncSession, lease_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LeasePriceStep]]:
    out: dict[uuid.UUID, list[LeasePriceStep]] = {i: [] for i in lease_ids}
    if not lease_ids:
        return out
    for s in (
        await session.scalars(
            select(LeasePriceStep).where(LeasePriceStep.lease_id.in_(lease_ids)).order_by(LeasePriceStep.effective_date)
        )
    ).all():
        out[s.lease_id].append(s)
    return out


def terms_view(lease: Lease, steps: Sequence[LeasePriceStep], currency: str, today: date) -> LeaseTerms:
    pct = None if lease.escalation_pct is None else Decimal(lease.escalation_pct)
    return LeaseTerms(
        monthly_price_minor=lease.monthly_price_minor,
        setup_fee_minor=lease.setup_fee_minor,
        deposit_months=lease.deposit_months,
        notice_days=lease.notice_days,
        discount_pct=str(Decimal(lease.discount_pct).quantize(_PCT)),
        escalation_pct=None if pct is None else str(pct.quantize(_PCT)),
        price_steps=[
            PriceStep(effective_date=s.effective_date, monthly_price_minor=s.monthly_price_minor, reason=s.reason) for s in steps
        ],
        currency=currency,
        current_monthly_price_minor=price_on(
            max(today, lease.start_date),
            base_minor=lease.monthly_price_minor,
            start_date=lease.start_date,
            steps=[(s.effective_date, s.monthly_price_minor) for s in steps],
            escalation_pct=pct,
        ),
    )


async def lease_terms(session: AsyncSession, lease: Lease, currency: str, today: date) -> LeaseTerms:
    """The read-model of a lease's terms (the API's GET .../terms and the admin's lease page)."""
    return terms_view(lease, (await price_steps_of(session, [lease.id]))[lease.id], currency, today)
