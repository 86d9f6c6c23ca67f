"""Issue 11: a plan's prices with effective dates, and the price a new lease copies.

A plan is created with its prices (the plan row and its inclusions' unit prices); later prices are
`plan_prices` rows, each complete, from a date on. A lease copies the price in force on its start
date when it is booked (domain/leasing/terms.py) and never reads the plan again, so adding a price
changes new leases only: nothing already booked, invoiced or trued up moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, ValidationFailed
from domain.models import Inclusion, Plan, PlanPrice, Site
from domain.services.audit import Actor, record, snapshot
from domain.services.plan_price_schemas import PlanPrice as PlanPriceOut
from domain.services.plan_price_schemas import PlanPriceCreate

PRICED = ("monthly", "one_time")


@dataclass(frozen=True)
class PlanTerms:
    """A plan's prices on one date: what a lease booked from that date copies."""

    monthly_price_minor: int
    setup_fee_minor: int
    deposit_months: int
    add_on_prices: dict[str, int] = field(default_factory=dict)
    effective_from: date | None = None


def _base(plan: Plan, inclusions: list[Inclusion]) -> PlanTerms:
    return PlanTerms(
        plan.monthly_price_minor,
        plan.setup_fee_minor,
        plan.deposit_months,
        {i.code: i.unit_price_minor for i in inclusions if i.billing in PRICED},
    )


def terms_of(plan: Plan, row: PlanPrice | None) -> PlanTerms:
    """The plan's prices from its dated row in force (or as created, with none); add-ons the row
    does not name keep the inclusion's own unit price (the caller has the inclusions)."""
    if row is None:
        return PlanTerms(plan.monthly_price_minor, plan.setup_fee_minor, plan.deposit_months)
    return PlanTerms(
        row.monthly_price_minor,
        row.setup_fee_minor,
        row.deposit_months,
        {k: int(v) for k, v in row.add_on_prices.items()},
        row.effective_from,
    )


def in_force_stmt(plan_id: Any, day: Any) -> Select[Any]:
    """The plan's dated price in force on `day` (none: the plan's prices as created)."""
    return (
        select(PlanPrice)
        .where(PlanPrice.plan_id == plan_id, PlanPrice.effective_from <= day)
        .order_by(PlanPrice.effective_from.desc())
        .limit(1)
    )


async def _inclusions(session: AsyncSession, plan: Plan) -> list[Inclusion]:
    return list((await session.scalars(select(Inclusion).where(Inclusion.plan_id == plan.id).order_by(Inclusion.code))).all())


async def price_in_force(session: AsyncSession, plan: Plan, day: date) -> PlanTerms:
    """The plan's prices on `day`: the latest dated price on or before it, else as created."""
    row = await session.scalar(in_force_stmt(plan.id, day))
    base = _base(plan, await _inclusions(session, plan))
    if row is None:
        return base
    # an add-on added to the plan after this price was written keeps its own unit price
    return PlanTerms(
        row.monthly_price_minor,
        row.setup_fee_minor,
        row.deposit_months,
        {**base.add_on_prices, **{k: int(v) for k, v in row.add_on_prices.items()}},
        row.effective_from,
    )


async def add_plan_price(
    session: AsyncSession, actor: Actor, plan: Plan, site: Site, body: PlanPriceCreate, today: date
) -> PlanPrice:
    """Add the plan's prices from a date on (today or later on the site's calendar: a price list is
    not rewritten backwards). Refused with 409 naming `effective_from` when the plan already has a
    price from that date; 422 naming `add_on_prices` for a code that is not a priced add-on."""
    if body.effective_from < today:
        raise ValidationFailed(
            f"a new price takes effect today ({today.isoformat()}) or later; leases already booked keep their own prices",
            field="effective_from",
        )
    inclusions = await _inclusions(session, plan)
    priced = {i.code for i in inclusions if i.billing in PRICED}
    unknown = sorted(set(body.add_on_map()) - priced)
    if unknown:
        raise ValidationFailed(f"not a priced add-on of this plan: {', '.join(unknown)}", field="add_on_prices")
    current = await price_in_force(session, plan, body.effective_from)
    values = {
        "plan_id": plan.id,
        "effective_from": body.effective_from,
        "monthly_price_minor": body.monthly_price_minor,
        "setup_fee_minor": current.setup_fee_minor if body.setup_fee_minor is None else body.setup_fee_minor,
        "deposit_months": current.deposit_months if body.deposit_months is None else body.deposit_months,
        "add_on_prices": {**current.add_on_prices, **body.add_on_map()},
        "reason": body.reason,
        "created_by": actor.subject,
    }
    # the unique key decides between two staff adding a price for the same date at once
    new_id = await session.scalar(
        insert(PlanPrice)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["plan_id", "effective_from"])
        .returning(PlanPrice.id)
    )
    if new_id is None:
        raise Conflict(
            f"the plan already has a price from {body.effective_from.isoformat()}; add one from another date",
            field="effective_from",
        )
    row = await session.get_one(PlanPrice, new_id)
    await record(session, actor, "plan.price_add", "plan", plan.id, after=snapshot(row))
    return row


async def price_history(session: AsyncSession, plan: Plan, currency: str) -> list[PlanPriceOut]:
    """The plan's prices, newest date first, ending with the prices it was created with."""
    rows = (
        await session.scalars(select(PlanPrice).where(PlanPrice.plan_id == plan.id).order_by(PlanPrice.effective_from.desc()))
    ).all()
    base = _base(plan, await _inclusions(session, plan))
    out = [
        PlanPriceOut(
            plan_id=plan.id,
            effective_from=r.effective_from,
            monthly_price_minor=r.monthly_price_minor,
            setup_fee_minor=r.setup_fee_minor,
            deposit_months=r.deposit_months,
            add_on_prices={**base.add_on_prices, **{k: int(v) for k, v in r.add_on_prices.items()}},
            currency=currency,
            reason=r.reason,
            created_by=r.created_by,
            created_at=r.created_at,
        )
        for r in rows
    ]
    out.append(
        PlanPriceOut(
            plan_id=plan.id,
            effective_from=None,
            monthly_price_minor=base.monthly_price_minor,
            setup_fee_minor=base.setup_fee_minor,
            deposit_months=base.deposit_months,
            add_on_prices=base.add_on_prices,
            currency=currency,
            created_at=plan.created_at,
        )
    )
    return out
