"""Add-ons changed during a term (issue 11): added, changed in quantity or removed from a date.

A lease's add-on is a series of dated rows (lease_add_ons: start_date, end_date; NULL = the lease's
own start or end). Setting a quantity from a date ends the row that runs on that date the day
before, drops the changes scheduled on or after it, and starts a row with the new quantity (none for
0, which removes the add-on). The exclusion constraint of migration 0019_lease_moves keeps one row
per add-on and day. Billing prorates each row over its own days (billing/calc.py ``addon_lines``)
and, for a change dated into a month already invoiced, trues the month up by the same rule as seat
changes (``trueup_lines``: what the month costs now minus what was billed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import ValidationFailed
from domain.leasing.change_schemas import AddOnChangeIn, AddOnPeriod
from domain.leasing.state import lease_site, require_live
from domain.models import Inclusion, Lease, LeaseAddOn, LeaseAmendment, Plan
from domain.services.audit import Actor, record
from domain.services.catalog import site_today
from domain.services.plan_prices import price_in_force


def _copy(row: LeaseAddOn, **changes: Any) -> LeaseAddOn:
    """A new row like ``row`` (every column it has, the prices a lease keeps included) but these."""
    values = {c.key: getattr(row, c.key) for c in LeaseAddOn.__mapper__.column_attrs if c.key != "id"}
    values.update(changes)
    return LeaseAddOn(**values)


async def change_add_on(
    session: AsyncSession,
    actor: Actor,
    lease: Lease,
    code: str,
    req: AddOnChangeIn,
    *,
    is_staff: bool,
    now: datetime | None = None,
) -> list[AddOnPeriod]:
    """Set the quantity of the lease's add-on ``code`` from ``req.effective`` (0 removes it). A
    client may not date it in the past; staff may (the month is trued up on the next invoice).
    One-time add-ons are charged once at booking and cannot be changed: a later one-off is a charge."""
    require_live(lease)
    effective = req.effective
    today = site_today(await lease_site(session, lease), now)
    if not is_staff and effective < today:
        raise ValidationFailed("an amendment cannot take effect in the past", field="effective")
    if effective < lease.start_date or (lease.end_date is not None and effective > lease.end_date):
        raise ValidationFailed("effective date is outside the lease term", field="effective")
    inc = await session.scalar(select(Inclusion).where(Inclusion.plan_id == lease.plan_id, Inclusion.code == code))
    if inc is None or inc.billing == "included":
        raise ValidationFailed(f"{code} is not an add-on of this lease's plan", field="code")
    if inc.billing != "monthly":
        raise ValidationFailed(f"{code} is a one-time add-on, charged once at booking", field="code")
    rows = (
        await session.scalars(
            select(LeaseAddOn)
            .where(LeaseAddOn.lease_id == lease.id, LeaseAddOn.inclusion_id == inc.id)
            .order_by(LeaseAddOn.start_date.asc().nulls_first())
            .with_for_update()
        )
    ).all()
    before = _periods(lease, inc, rows)
    previous = next(
        (p.quantity for p in before if p.start_date <= effective and (p.end_date is None or p.end_date >= effective)), 0
    )
    if previous == req.quantity and not any(p.start_date > effective for p in before):
        raise ValidationFailed(f"{code} is already at quantity {req.quantity} from that date", field="quantity")
    template: LeaseAddOn | None = None
    for r in rows:
        start = r.start_date or lease.start_date
        if start >= effective:
            template = template or r
            await session.execute(delete(LeaseAddOn).where(LeaseAddOn.id == r.id))
            session.expunge(r)
        elif r.end_date is None or r.end_date >= effective:
            template = r
            r.end_date = effective - timedelta(days=1)
    await session.flush()
    # an add-on added again after it was removed keeps the terms its last row had
    template = template or (rows[-1] if rows else None)
    if req.quantity:
        if template is not None:
            new = _copy(template, quantity=req.quantity, start_date=effective, end_date=None)
        else:  # an add-on the lease never had: bought at the plan's price in force from that date
            plan = await session.get_one(Plan, lease.plan_id)
            unit = (await price_in_force(session, plan, effective)).add_on_prices.get(inc.code, inc.unit_price_minor)
            new = LeaseAddOn(
                lease_id=lease.id, inclusion_id=inc.id, quantity=req.quantity, start_date=effective, unit_price_minor=unit
            )
        session.add(new)
    details = {"code": code, "quantity": req.quantity, "previous_quantity": previous}
    session.add(
        LeaseAmendment(
            lease_id=lease.id, kind="add_on_changed", effective_date=effective, details=details, actor_id=actor.subject
        )
    )
    lease.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "lease.add_on_changed",
        "lease",
        lease.id,
        after={"effective": effective, **details},
        client_id=lease.client_id,
    )
    await events.leases_changed(session)
    return await add_on_periods(session, lease)


def _periods(lease: Lease, inc: Inclusion, rows: Any) -> list[AddOnPeriod]:
    out = [
        AddOnPeriod(
            code=inc.code, name=inc.name, quantity=r.quantity, start_date=r.start_date or lease.start_date, end_date=r.end_date
        )
        for r in rows
    ]
    return sorted(out, key=lambda p: p.start_date)


async def add_on_periods(session: AsyncSession, lease: Lease) -> list[AddOnPeriod]:
    """Every dated row of the lease's add-ons, by code and start."""
    rows = (
        await session.execute(
            select(LeaseAddOn, Inclusion)
            .join(Inclusion, Inclusion.id == LeaseAddOn.inclusion_id)
            .where(LeaseAddOn.lease_id == lease.id)
        )
    ).all()
    out = [
        AddOnPeriod(
            code=i.code, name=i.name, quantity=r.quantity, start_date=r.start_date or lease.start_date, end_date=r.end_date
        )
        for r, i in rows
    ]
    return sorted(out, key=lambda p: (p.code, p.start_date))


__all__ = ["add_on_periods", "change_add_on"]
