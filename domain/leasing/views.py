"""Read-models of leases: the API's lease shape, loaded in a fixed number of queries, and its filters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    and_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing.renewal import DEFAULT_RENEWAL_WINDOW_DAYS, term_start, up_for_renewal
from domain.leasing.schemas import AddOn, LeaseSeatPeriod, SeatBrief
from domain.leasing.schemas import Lease as LeaseOut
from domain.leasing.terms_schemas import PriceStep
from domain.models import (
    Inclusion,
    Lease,
    LeaseAddOn,
    LeasePriceStep,
    LeaseSeat,
    Seat,
    Site,
)
from domain.rules.renewal import renewal_window_starts
from domain.services.catalog import site_today

_PCT = Decimal("0.01")


class SeatPeriod(NamedTuple):
    id: uuid.UUID  # the seat
    label: str
    floor_id: uuid.UUID
    zone: str
    start_date: date
    end_date: date | None


def lease_view(
    lease: Lease,
    site: Site,
    periods: Sequence[SeatPeriod],
    add_ons: Sequence[tuple[Inclusion, int, int] | tuple[Inclusion, int, int, date | None, date | None]],
    today: date | None = None,
    renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS,
    *,
    steps: Sequence[tuple[date, int, str | None]] = (),
) -> LeaseOut:
    """The API shape of one lease from its seat periods (in label order), add-ons (inclusion,
    quantity, the lease's own unit price) and dated seat prices (date, price, reason)."""
    ref = today or max(site_today(site), lease.start_date)
    # --- renewal (issue 11) ---
    site_day = today or site_today(site)
    # --- end renewal ---
    current: dict[uuid.UUID, SeatPeriod] = {}
    for r in periods:
        if r.end_date is None or r.end_date >= ref or lease.status == "ended":
            current[r.id] = r
    return LeaseOut(
        id=lease.id,
        client_id=lease.client_id,
        team_id=lease.team_id,
        site_id=lease.site_id,
        plan_id=lease.plan_id,
        shift=lease.shift_code,
        start_date=lease.start_date,
        end_date=lease.end_date,
        status=lease.status,
        seats=[SeatBrief.model_validate(r) for r in current.values()],
        seat_periods=[
            LeaseSeatPeriod(seat_id=r.id, label=r.label, start_date=r.start_date, end_date=r.end_date) for r in periods
        ],
        add_ons=[
            AddOn(
                code=a[0].code,
                name=a[0].name,
                billing=a[0].billing,
                unit_price_minor=a[2],
                quantity=a[1],
                # --- changes during a term: dated add-ons (issue 11) ---
                start_date=a[3] if len(a) > 3 else None,
                end_date=a[4] if len(a) > 4 else None,
            )
            for a in add_ons
            # rows over before the reference day are history (GET .../add-ons lists them all)
            if len(a) < 5 or a[4] is None or a[4] >= ref
        ],
        # as stored (numeric(5,2)): the same text before and after a round trip through the table
        discount_pct=str(Decimal(lease.discount_pct).quantize(_PCT)),
        currency=site.currency,
        # --- notice, approvals, renewal (issue 11, renewal) ---
        notice_days=lease.notice_days,
        term_start_date=term_start(lease),
        term_end_date=lease.term_end_date,
        renewal_mode=lease.renewal_mode,
        up_for_renewal=up_for_renewal(lease, site_day, renewal_window_days),
        renewal_window_starts=(
            renewal_window_starts(lease.term_end_date, renewal_window_days) if lease.term_end_date is not None else None
        ),
        rejection_reason=lease.rejection_reason,
        monthly_price_minor=lease.monthly_price_minor,
        setup_fee_minor=lease.setup_fee_minor,
        deposit_months=lease.deposit_months,
        escalation_pct=None if lease.escalation_pct is None else str(Decimal(lease.escalation_pct).quantize(_PCT)),
        price_steps=[PriceStep(effective_date=d, monthly_price_minor=p, reason=r) for d, p, r in steps],
    )


async def lease_views(
    session: AsyncSession,
    leases: Sequence[Lease],
    *,
    today: date | None = None,
    renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS,
) -> list[LeaseOut]:
    """The API shape of leases, loaded in a fixed number of queries."""
    if not leases:
        return []
    ids = [lease.id for lease in leases]
    seat_rows = (
        await session.execute(
            select(LeaseSeat.lease_id, Seat.id, Seat.label, Seat.floor_id, Seat.zone, LeaseSeat.start_date, LeaseSeat.end_date)
            .join(Seat, Seat.id == LeaseSeat.seat_id)
            .where(LeaseSeat.lease_id.in_(ids), LeaseSeat.voided.is_(False))
            .order_by(Seat.label, LeaseSeat.start_date)
        )
    ).all()
    addon_rows = (
        await session.execute(
            select(
                LeaseAddOn.lease_id,
                LeaseAddOn.quantity,
                LeaseAddOn.unit_price_minor,
                Inclusion,
                LeaseAddOn.start_date,
                LeaseAddOn.end_date,
            )
            .join(Inclusion, Inclusion.id == LeaseAddOn.inclusion_id)
            .where(LeaseAddOn.lease_id.in_(ids))
            .order_by(Inclusion.code, LeaseAddOn.start_date.asc().nulls_first())
        )
    ).all()
    sites = {s.id: s for s in (await session.scalars(select(Site).where(Site.id.in_({lease.site_id for lease in leases})))).all()}
    periods: dict[uuid.UUID, list[SeatPeriod]] = {}
    for r in seat_rows:
        periods.setdefault(r[0], []).append(SeatPeriod(*r[1:]))
    add_ons: dict[uuid.UUID, list[tuple[Inclusion, int, int, date | None, date | None]]] = {}
    for lid, qty, unit_price, inc, start, end in addon_rows:
        add_ons.setdefault(lid, []).append((inc, qty, unit_price, start, end))
    steps: dict[uuid.UUID, list[tuple[date, int, str | None]]] = {}
    for lid, when, price, reason in (
        await session.execute(
            select(
                LeasePriceStep.lease_id, LeasePriceStep.effective_date, LeasePriceStep.monthly_price_minor, LeasePriceStep.reason
            )
            .where(LeasePriceStep.lease_id.in_(ids))
            .order_by(LeasePriceStep.effective_date)
        )
    ).all():
        steps.setdefault(lid, []).append((when, price, reason))
    return [
        lease_view(
            lease,
            sites[lease.site_id],
            periods.get(lease.id, []),
            add_ons.get(lease.id, []),
            today,
            renewal_window_days,
            steps=steps.get(lease.id, ()),
        )
        for lease in leases
    ]


def lease_filter(client_id: uuid.UUID | None, status: str | None, site_id: uuid.UUID | None) -> list[Any]:
    conds: list[Any] = []
    if client_id is not None:
        conds.append(Lease.client_id == client_id)
    if status is not None:
        conds.append(Lease.status == status)
    if status != "proposed":
        conds.append(not_an_open_or_dead_proposal())
    if site_id is not None:
        conds.append(Lease.site_id == site_id)
    return [and_(*conds)] if conds else []


# --- proposals and holds ---
def not_an_open_or_dead_proposal() -> Any:
    """A lease list shows leases: a proposal appears there once accepted (an open one only when
    asked for status ``proposed``, see GET /v1/proposals; one that lapsed or was withdrawn never
    was a lease)."""
    return or_(Lease.proposed_at.is_(None), Lease.accepted_at.is_not(None))
