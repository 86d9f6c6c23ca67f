"""One-off charges: the cancellation fee a client owes for cancelling late, and staff waiving it.

The fee: a client (client_admin or machine client; never staff) cancelling a lease
``cancellation_fee_window_days`` days or fewer before its start owes
``cancellation_fee_months`` months of the lease's seat price (the plan's monthly seat price less
the lease's discount) times the seats the lease holds, rounded half up to the minor unit, in
the site's currency. It is a row of one_off_charges that the next billing run of the client and
site bills as a line of the invoice (billing/charges.py), unless staff waive it first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState
from domain.models import Lease, LeaseSeat, OneOffCharge, Plan, Site
from domain.services.audit import Actor, record, snapshot
from domain.services.lookup import get_or_404


@dataclass(frozen=True)
class ClientLimits:
    """What a client's own requests may do (the service fills it from its settings); staff
    requests are not limited."""

    seat_cap_default: int = 200
    cancellation_fee_window_days: int = 14
    cancellation_fee_months: Decimal = Decimal("1")


def cancellation_fee_minor(monthly_price_minor: int, seats: int, discount_pct: Decimal, months: Decimal) -> int:
    amount = Decimal(monthly_price_minor) * seats * months * (100 - Decimal(discount_pct)) / 100
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def charge_cancellation_fee(
    session: AsyncSession, actor: Actor, lease: Lease, site: Site, today: date, limits: ClientLimits
) -> OneOffCharge | None:
    """Record the fee of a client's cancellation if it falls inside the window (call before the
    seats are voided: the fee counts the seats the lease holds)."""
    if (lease.start_date - today).days > limits.cancellation_fee_window_days:
        return None
    seats = int(
        await session.scalar(
            select(func.count(func.distinct(LeaseSeat.seat_id))).where(
                LeaseSeat.lease_id == lease.id, LeaseSeat.voided.is_(False)
            )
        )
        or 0
    )
    plan = await session.get(Plan, lease.plan_id)
    assert plan is not None
    amount = cancellation_fee_minor(plan.monthly_price_minor, seats, lease.discount_pct, limits.cancellation_fee_months)
    if amount <= 0:
        return None
    charge = OneOffCharge(
        client_id=lease.client_id,
        site_id=lease.site_id,
        lease_id=lease.id,
        kind="cancellation_fee",
        description=(
            f"Cancellation fee: {plan.name} ({lease.shift_code}) × {seats} seat{'s' if seats != 1 else ''} "
            f"from {lease.start_date}, cancelled {today} ({(lease.start_date - today).days} days before)"
        ),
        amount_minor=amount,
        currency=site.currency,
        charge_date=today,
        created_by=actor.subject,
    )
    session.add(charge)
    await session.flush()
    await record(session, actor, "charge.create", "one_off_charge", charge.id, after=snapshot(charge), client_id=lease.client_id)
    return charge


async def get_charge(session: AsyncSession, charge_id: uuid.UUID, *, for_update: bool = False) -> OneOffCharge:
    return await get_or_404(session, OneOffCharge, charge_id, "charge", for_update=for_update)


async def lease_charges(session: AsyncSession, lease_id: uuid.UUID) -> list[OneOffCharge]:
    return list(
        (
            await session.scalars(select(OneOffCharge).where(OneOffCharge.lease_id == lease_id).order_by(OneOffCharge.created_at))
        ).all()
    )


async def waive_charge(session: AsyncSession, actor: Actor, charge: OneOffCharge, reason: str) -> OneOffCharge:
    """Staff forgo a charge not billed yet (the row is locked: a billing run bills it or not, never both)."""
    if charge.invoice_id is not None:
        raise InvalidState("the charge is already on an invoice; issue a credit note instead")
    if charge.waived_at is not None:
        raise InvalidState("the charge is already waived")
    before = snapshot(charge)
    charge.waived_at = datetime.now(UTC)
    charge.waived_by = actor.subject
    charge.waive_reason = reason
    await session.flush()
    await record(
        session,
        actor,
        "charge.waive",
        "one_off_charge",
        charge.id,
        before=before,
        after=snapshot(charge),
        client_id=charge.client_id,
    )
    return charge


# --- early termination (issue 11, renewal) ---


async def charge_early_termination_fee(
    session: AsyncSession, actor: Actor, lease: Lease, site: Site, today: date, amount_minor: int, reason: str, end_date: date
) -> OneOffCharge:
    """Record the fee staff set when ending a lease early; the client's next invoice at the site bills
    it (billing/charges.py). One per lease: the lease row is locked by the caller, so a second
    early end of the same lease is refused here rather than by the unique key."""
    existing = await session.scalar(
        select(OneOffCharge.id).where(OneOffCharge.lease_id == lease.id, OneOffCharge.kind == "termination_fee")
    )
    if existing is not None:
        raise InvalidState(
            "this lease already carries an early-termination fee",
            field="early_termination_fee_minor",
        )
    charge = OneOffCharge(
        client_id=lease.client_id,
        site_id=lease.site_id,
        lease_id=lease.id,
        kind="termination_fee",  # invoice_lines.kind holds 16 characters
        description=f"Early termination fee: lease {lease.shift_code} from {lease.start_date} ended {end_date}: {reason}"[:500],
        amount_minor=amount_minor,
        currency=site.currency,
        charge_date=today,
        created_by=actor.subject,
    )
    session.add(charge)
    await session.flush()
    await record(session, actor, "charge.create", "one_off_charge", charge.id, after=snapshot(charge), client_id=lease.client_id)
    return charge
