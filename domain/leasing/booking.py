"""Booking: ``book_lease`` takes the one input model ``LeaseCreate`` from every edge, checks it,
writes the lease and its seats, audits it and wakes the reconciler, once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain import events
from domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from domain.leasing.renewal import DEFAULT_RENEWAL_WINDOW_DAYS
from domain.leasing.schemas import AddOnIn, LeaseCreate
from domain.leasing.schemas import Lease as LeaseOut
from domain.leasing.seats import insert_seats
from domain.leasing.state import LIVE_STATUSES, advance_status
from domain.leasing.terms import add_price_steps, snapshot_terms
from domain.leasing.views import SeatPeriod, lease_view
from domain.models import (
    Client,
    Inclusion,
    Lease,
    LeaseAddOn,
    LeaseSeat,
    LeaseSeatMove,
    Plan,
    PlanPrice,
    Shift,
    Site,
    Team,
)
from domain.services.audit import Actor, record, snapshot
from domain.services.catalog import shift_code_is, shift_window, site_today, unknown_shift
from domain.services.charges import ClientLimits
from domain.services.plan_prices import in_force_stmt


class SeatCapExceeded(Conflict):
    title = "Seat cap exceeded"
    type_suffix = "seat-cap-exceeded"


async def enforce_seat_cap(
    session: AsyncSession, client_id: uuid.UUID, wanted: int, default_cap: int, today: date, field: str
) -> None:
    """A client's own bookings may hold at most its seat cap (clients.seat_cap, else the default).

    Seats held: the lease_seats rows of the client's pending_approval/confirmed/active leases that
    are not voided and not over (end date today or later, or none) -- a seat held by two of its
    leases (a DAY and a NIGHT lease of one seat) counts twice, once per lease seat. The client row
    is locked (FOR NO KEY UPDATE: other writers' foreign-key checks on it do not wait) before the
    count, so concurrent bookings of one client queue here and each counts what the others
    committed: the total never passes the cap."""
    cap = (
        await session.execute(
            select(Client.seat_cap).where(Client.id == client_id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
        )
    ).scalar_one()
    cap = default_cap if cap is None else cap
    held = int(
        await session.scalar(
            select(func.count())
            .select_from(LeaseSeat)
            .join(Lease, Lease.id == LeaseSeat.lease_id)
            .where(
                Lease.client_id == client_id,
                Lease.status.in_(LIVE_STATUSES),
                LeaseSeat.voided.is_(False),
                or_(LeaseSeat.end_date.is_(None), LeaseSeat.end_date >= today),
                # --- changes during a term: seat moves (issue 11) ---
                # a seat moved from a later date is one seat, not two: the new row is not counted yet
                ~exists().where(
                    LeaseSeatMove.lease_id == LeaseSeat.lease_id,
                    LeaseSeatMove.to_seat_id == LeaseSeat.seat_id,
                    LeaseSeatMove.effective_date == LeaseSeat.start_date,
                    LeaseSeatMove.effective_date > today,
                ),
            )
        )
        or 0
    )
    if held + wanted > cap:
        raise SeatCapExceeded(
            f"the client may hold at most {cap} seats: it holds {held} and asks for {wanted} more",
            field=field,
            seat_cap=cap,
            seats_held=held,
            seats_requested=wanted,
        )


def wanted_seats(seat_count: int | None, seat_ids: Sequence[uuid.UUID] | None) -> tuple[int, str]:
    return (len(seat_ids), "seat_ids") if seat_ids is not None else (int(seat_count or 0), "seat_count")


async def _load_booking(
    session: AsyncSession, req: LeaseCreate
) -> tuple[Site | None, Client | None, Team | None, Plan | None, Shift | None, PlanPrice | None]:
    """The site, client, team, plan and shift of a booking in one query (each None when missing),
    with the plan's dated price in force on the start date (None: its prices as created; issue 11).

    The same query queues the wake-up of the provisioning reconciler (``events.leases_changed``):
    PostgreSQL delivers it only if the booking commits."""
    one = select(literal(1).label("one")).subquery()
    price = aliased(PlanPrice, in_force_stmt(req.plan_id, req.start_date).subquery())
    stmt = (
        select(Site, Client, Team, Plan, Shift, price, events.leases_changed_expr())
        .select_from(one)
        .outerjoin(Site, Site.id == req.site_id)
        .outerjoin(Client, Client.id == req.client_id)
        .outerjoin(Team, Team.id == req.team_id)
        .outerjoin(Plan, Plan.id == req.plan_id)
        .outerjoin(Shift, and_(Shift.site_id == req.site_id, shift_code_is(req.shift)))
        .outerjoin(price, true())
    )
    # (the first row: shift codes are unique on a site whatever their case, since issue 14)
    row = (await session.execute(stmt.limit(1))).one()
    return row[0], row[1], row[2], row[3], row[4], row[5]


async def create_lease(
    session: AsyncSession,
    actor: Actor,
    req: LeaseCreate,
    *,
    is_staff: bool,
    discount_threshold_pct: Decimal,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
) -> Lease:
    lease, _view = await book_lease(
        session, actor, req, is_staff=is_staff, discount_threshold_pct=discount_threshold_pct, limits=limits, now=now
    )
    return lease


def _no_client_terms(req: LeaseCreate) -> None:
    """Commercial terms are set by staff: a client's own booking may not give them at all (any
    value, even 0; PRODUCT.md rules 7 and 11)."""
    if "discount_pct" in req.model_fields_set:
        raise Forbidden("a discount is a commercial term that only staff set; leave discount_pct out", field="discount_pct")
    for term in ("notice_days", "escalation_pct", "price_steps"):
        if term in req.model_fields_set:
            raise Forbidden(f"{term} is a commercial term that only staff set; leave it out", field=term)


async def book_lease(
    session: AsyncSession,
    actor: Actor,
    req: LeaseCreate,
    *,
    is_staff: bool,
    discount_threshold_pct: Decimal,
    limits: ClientLimits | None = None,
    now: datetime | None = None,
    proposal_expires_at: datetime | None = None,
    renewal_window_days: int = DEFAULT_RENEWAL_WINDOW_DAYS,
) -> tuple[Lease, LeaseOut]:
    """Create a lease and hold its seats; returns the lease and its API view (built from what
    the booking already has in hand, the same shape as ``lease_views``). Wakes the provisioning
    reconciler on commit (folded into its first query).

    A client's own booking (not staff) may not carry a discount at all (403 naming
    ``discount_pct``) and may not take the client past its seat cap (``enforce_seat_cap``).

    With ``proposal_expires_at`` (staff only, domain/leasing/proposals.py) the lease is a proposal:
    status ``proposed``, its seats held like any lease's until that time."""
    if not is_staff:
        _no_client_terms(req)
    discount = req.discount_pct
    site, client, team, plan, shift, price = await _load_booking(session, req)
    if site is None:
        raise ValidationFailed("no such site", field="site_id")
    if client is None:
        raise NotFound("client not found")
    if team is None or team.client_id != client.id:
        raise ValidationFailed("no such team for this client", field="team_id")
    if plan is None or plan.site_id != site.id:
        raise ValidationFailed("no such plan on this site", field="plan_id")
    if shift is None:
        raise await unknown_shift(session, site.id, req.shift)
    # the lease's seats copy the shift's window: read it again under a key-share lock, so an edit of
    # its hours (FOR UPDATE, domain/services/site_setup.py update_shift) either waits for this booking
    # and then counts its lease, or commits first and this booking copies the new window
    shift = await session.scalar(
        select(Shift)
        .where(Shift.id == shift.id)
        .with_for_update(read=True, key_share=True)
        .execution_options(populate_existing=True)
    )
    assert shift is not None  # a shift is never deleted
    today = site_today(site, now)
    if not is_staff and req.start_date < today:
        raise ValidationFailed("a lease cannot start in the past", field="start_date")
    add_ons = await _resolve_add_ons(session, plan, req.add_ons)
    if not is_staff:
        wanted, field = wanted_seats(req.seat_count, req.seat_ids)
        await enforce_seat_cap(session, client.id, wanted, (limits or ClientLimits()).seat_cap_default, today, field)

    status = _initial_status(discount > discount_threshold_pct, proposal_expires_at)
    lease = Lease(
        id=uuid.uuid4(),
        client_id=client.id,
        team_id=team.id,
        site_id=site.id,
        plan_id=plan.id,
        shift_id=shift.id,
        shift_code=shift.code,
        start_date=req.start_date,
        end_date=req.end_date,
        term_end_date=req.end_date,  # booked with an end date: a fixed term (issue 11, renewal)
        status=status,
        discount_pct=discount,
        escalation_pct=req.escalation_pct or None,
        created_by=actor.subject,
        hold_expires_at=proposal_expires_at,
        proposed_at=None if proposal_expires_at is None else (now or datetime.now(UTC)),
    )
    # the lease's own prices from here on: the plan's in force on its start date (issue 11)
    terms = snapshot_terms(lease, plan, price, req.notice_days)
    session.add(lease)
    await session.flush()
    await add_price_steps(session, lease, [(s.effective_date, s.monthly_price_minor) for s in req.price_steps], actor.subject)
    window = shift_window(shift)
    held = await insert_seats(
        session, lease, window, req.start_date, req.end_date, seat_count=req.seat_count, seat_ids=req.seat_ids
    )
    priced = [(inc, qty, terms.add_on_prices.get(inc.code, inc.unit_price_minor)) for inc, qty in add_ons]
    for inc, qty, unit_price in priced:
        session.add(LeaseAddOn(lease_id=lease.id, inclusion_id=inc.id, quantity=qty, unit_price_minor=unit_price))
    if status == "confirmed":
        await advance_status(session, lease, today)
    if add_ons or req.price_steps or lease.status != status:
        await session.flush()
    await record(session, actor, _CREATE_ACTION[status], "lease", lease.id, after=snapshot(lease), client_id=client.id)
    periods = sorted(
        (SeatPeriod(h.seat_id, h.label, h.floor_id, h.zone, req.start_date, req.end_date) for h in held),
        key=lambda p: p.label,
    )
    steps = [(s.effective_date, s.monthly_price_minor, None) for s in sorted(req.price_steps, key=lambda s: s.effective_date)]
    return lease, lease_view(lease, site, periods, priced, None, renewal_window_days, steps=steps)


# --- proposals and holds: a proposal holds its seats as any lease does, until it lapses ---
_CREATE_ACTION = {"proposed": "lease.propose", "pending_approval": "lease.create", "confirmed": "lease.create"}


def _initial_status(needs_approval: bool, proposal_expires_at: datetime | None) -> str:
    if proposal_expires_at is not None:
        return "proposed"
    return "pending_approval" if needs_approval else "confirmed"


async def _resolve_add_ons(session: AsyncSession, plan: Plan, wanted: Sequence[AddOnIn]) -> list[tuple[Inclusion, int]]:
    if not wanted:
        return []
    codes = [w.code for w in wanted]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("each add-on once", field="add_ons")
    incs = {i.code: i for i in (await session.scalars(select(Inclusion).where(Inclusion.plan_id == plan.id))).all()}
    out = []
    for w in wanted:
        inc = incs.get(w.code)
        if inc is None or inc.billing == "included":
            raise ValidationFailed(f"{w.code} is not an add-on of this plan", field="add_ons")
        out.append((inc, w.quantity))
    return out
