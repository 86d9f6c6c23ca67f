from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, IdMixin, TimestampMixin, one_of


class LeaseStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"
    # --- proposals and holds ---
    # a priced offer to a client: its seats are held (lease_seats, the exclusion constraint) until
    # hold_expires_at; accepted it becomes confirmed with the same rows, lapsed or withdrawn cancelled
    PROPOSED = "proposed"


LEASE_STATUSES: tuple[LeaseStatus, ...] = tuple(LeaseStatus)
# a lease that holds (or will hold) its seats
LIVE_LEASE_STATUSES: tuple[LeaseStatus, ...] = (LeaseStatus.PENDING_APPROVAL, LeaseStatus.CONFIRMED, LeaseStatus.ACTIVE)


# --- renewal (issue 11: notice, early termination, approvals, renewal) ---
class RenewalMode(StrEnum):
    """What happens at a fixed-term lease's term end: staff decide (manual), the worker renews it
    for the same term (auto), or it is marked not to be renewed and ends (lapse)."""

    MANUAL = "manual"
    AUTO = "auto"
    LAPSE = "lapse"


# --- end renewal ---


class Lease(IdMixin, TimestampMixin, Base):
    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint(one_of("status", LeaseStatus), name="status"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
        CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount"),
        # --- renewal (issue 11) ---
        CheckConstraint(one_of("renewal_mode", RenewalMode), name="renewal_mode"),
        CheckConstraint("term_end_date IS NULL OR term_end_date >= start_date", name="term_dates"),
        # --- end renewal ---
        # --- terms (issue 11)
        CheckConstraint("monthly_price_minor >= 0 AND setup_fee_minor >= 0 AND deposit_months >= 0", name="terms"),
        CheckConstraint("escalation_pct > 0 AND escalation_pct <= 100", name="escalation"),
        # --- API polish (issue 14): leases listed by start date, paged on (start_date, id) ---
        Index("ix_leases_start_date_id", "start_date", "id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    shift_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shifts.id"))
    shift_code: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    notice_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    status: Mapped[str] = mapped_column(String(20), index=True)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"), server_default="0")
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # --- proposals and holds (migration 0018_proposals) ---
    # A proposal's seats are held until this time, then the worker releases them
    # (domain/leasing/holds.py); a pending approval without one expires by the setting
    # SEATLEASE_PENDING_HOLD_HOURS counted from its creation.
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # set when the lease was made as a proposal (stays after acceptance), and when it was accepted
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # --- renewal (issue 11: notice, early termination, approvals, renewal) ---
    # The contract's term: a lease booked with an end date is fixed-term (term_end_date = that
    # date, moved on by each renewal); NULL = rolling month to month with notice. end_date is the
    # last day the lease actually runs: earlier than term_end_date after an early termination.
    term_end_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    # the first day of the current term (NULL = start_date): a renewal starts a new term
    term_start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    renewal_mode: Mapped[str] = mapped_column(String(8), default="manual", server_default="manual")
    # why finance rejected a pending lease (a rejected lease is cancelled: its seats are freed)
    rejection_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # --- end renewal ---

    # --- terms (issue 11): the lease's own commercial terms, copied from the plan's price in force
    # on its start date when it is booked (domain/leasing/terms.py); billing reads these, never the
    # plan. Dated price changes are lease_price_steps rows (domain/models/terms.py).
    monthly_price_minor: Mapped[int] = mapped_column(BigInteger)
    setup_fee_minor: Mapped[int] = mapped_column(BigInteger)
    deposit_months: Mapped[int] = mapped_column(Integer)
    # a yearly raise of the seat price on each anniversary of start_date (domain/rules/pricing.py)
    escalation_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    # --- end terms


class LeaseSeat(IdMixin, TimestampMixin, Base):
    """A seat held by a lease from start_date to end_date (inclusive; NULL = open-ended).

    The shift window is copied here; triggers keep each live row's occupancy segments in
    ``lease_seat_segments`` (migration 0008_night_tail), whose exclusion constraint refuses a double booking.
    """

    __tablename__ = "lease_seats"
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"), index=True)
    # the seat's site, filled in by a trigger on insert (migration 0005): a seat never moves
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    window_start_min: Mapped[int] = mapped_column(Integer)
    window_end_min: Mapped[int] = mapped_column(Integer)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class LeaseSeatSegment(Base):
    """What a live lease_seats row holds: minutes [win_lo, win_hi) of every date in [start_date, end_date].

    Written only by the triggers on lease_seats (migration 0008_night_tail), from
    ``lease_seat_segments_of``, the SQL twin of domain/rules/shifts.py ``occupancy_segments``: a
    shift that crosses midnight also holds the morning after each of its dates. The exclusion
    constraint ex_lease_seat_segments_no_double_booking (same migration) refuses two overlapping
    segments of one seat; availability reads this table too (domain/leasing/availability.py).
    """

    __tablename__ = "lease_seat_segments"
    __table_args__ = (
        CheckConstraint("0 <= win_lo AND win_lo < win_hi AND win_hi <= 1440", name="window"),
        Index(
            "ix_lease_seat_segments_site_live",
            "site_id",
            func.coalesce(text("end_date"), literal_column("'infinity'::date")),
            postgresql_include=["seat_id", "start_date", "end_date", "win_lo", "win_hi"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    lease_seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lease_seats.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[uuid.UUID] = mapped_column()
    site_id: Mapped[uuid.UUID] = mapped_column()
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    win_lo: Mapped[int] = mapped_column(Integer)
    win_hi: Mapped[int] = mapped_column(Integer)


class LeaseAddOn(IdMixin, Base):
    """An add-on of a lease at a quantity over dates. A change during the term (domain/leasing/addons.py)
    ends the row the day before and starts another, so billing prorates each quantity over its own days;
    the exclusion constraint ex_lease_add_ons_no_overlap (migration 0019_lease_moves) keeps one row per
    add-on and day."""

    __tablename__ = "lease_add_ons"
    __table_args__ = (
        # --- changes during a term: dated add-ons (issue 11) ---
        CheckConstraint("start_date IS NULL OR end_date IS NULL OR end_date >= start_date", name="dates"),
    )

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    inclusion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inclusions.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    # --- terms (issue 11): the add-on's unit price as the lease was booked (the plan's may change)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    # --- changes during a term: dated add-ons (issue 11) ---
    # NULL start: from the lease's start (as booked); NULL end: to the lease's end
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class LeaseAmendment(IdMixin, TimestampMixin, Base):
    """Every dated change of a lease: seats added or released, end date set, cancellation."""

    __tablename__ = "lease_amendments"

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    effective_date: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class SeatAssignment(IdMixin, TimestampMixin, Base):
    """Who sits at which seat of a lease (current state; history is in the audit log)."""

    __tablename__ = "seat_assignments"
    __table_args__ = (
        UniqueConstraint("lease_id", "seat_id"),
        UniqueConstraint("lease_id", "member_id"),
    )

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)


# --- changes during a term: seat moves (issue 11) ---
class LeaseSeatMove(IdMixin, TimestampMixin, Base):
    """A seat of a lease moved to another seat from a date (domain/leasing/moves.py): the lease_seats
    row of ``from_seat_id`` ends the day before ``effective_date`` and one of ``to_seat_id`` starts
    that day. The seat's assignment points at the new seat at once; before the move date the agent
    still sits at the old one (``domain.models.held.assigned_seat_sql``), so credentials follow on the
    date; the seat's devices are moved once on the date by the devices pass (``devices_moved_at``);
    billing counts the two rows as one seat (billing/run_facts.py)."""

    __tablename__ = "lease_seat_moves"
    __table_args__ = (
        CheckConstraint("from_seat_id <> to_seat_id", name="other_seat"),
        Index("ix_lease_seat_moves_lease_id_to_seat_id", "lease_id", "to_seat_id"),
    )

    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id", ondelete="CASCADE"))
    amendment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lease_amendments.id", ondelete="CASCADE"), index=True)
    from_seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"))
    to_seat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seats.id"))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    effective_date: Mapped[date] = mapped_column(Date)
    devices_moved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
