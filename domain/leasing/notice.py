"""Notice and early termination: when a lease may end, and who may end it earlier (issue 11).

- A client ends a **rolling** lease (no term end) no earlier than today (the site's calendar) plus
  the lease's notice period, and never before its start: an earlier date is a 422 naming
  `end_date`, with `earliest_end_date`.
- A client cannot end a **fixed-term** lease before its term ends: 403 naming `end_date`, with
  `term_end_date`. 403, not 422: the request is well formed and the very same request is allowed to
  staff; what refuses it is the client's right under its contract, as for `discount_pct` at booking.
- Staff may end any lease earlier, giving a reason and optionally an early-termination fee (a
  one-off charge billed on the client's next invoice). A fee needs a reason, and only an early end
  carries one. A client sending either field is refused with 403 naming it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, ValidationFailed
from domain.leasing.state import lease_site, require_live
from domain.models import Lease, LeaseAmendment
from domain.services.audit import Actor, record
from domain.services.catalog import site_today


def earliest_notice_end(lease: Lease, today: date) -> date:
    """The first day a rolling lease may end on notice given today."""
    return max(today + timedelta(days=lease.notice_days), lease.start_date)


def is_early_end(lease: Lease, end_date: date, today: date) -> bool:
    """An end before the term's end (fixed-term) or before the notice date (rolling)."""
    if lease.term_end_date is not None:
        return end_date < lease.term_end_date
    return end_date < earliest_notice_end(lease, today)


def check_end(lease: Lease, end_date: date, today: date, *, is_staff: bool, reason: str | None, fee_minor: int | None) -> bool:
    """Refuse an end the caller may not set; returns whether it is an early termination."""
    early = is_early_end(lease, end_date, today)
    if not is_staff:
        for name, value in (("reason", reason), ("early_termination_fee_minor", fee_minor)):
            if value is not None:
                raise Forbidden(f"{name} is set by staff only", field=name)
        if early and lease.term_end_date is not None:
            raise Forbidden(
                f"a fixed-term lease cannot be ended before its term ends on {lease.term_end_date}; ask the facility",
                field="end_date",
                term_end_date=lease.term_end_date.isoformat(),
            )
        if early:
            earliest = earliest_notice_end(lease, today)
            raise ValidationFailed(
                f"with {lease.notice_days} days' notice the lease can end on {earliest} at the earliest",
                field="end_date",
                earliest_end_date=earliest.isoformat(),
                notice_days=lease.notice_days,
            )
        return False
    if fee_minor is not None:
        if not early:
            raise ValidationFailed(
                "only an end before the term end or the notice date carries an early-termination fee",
                field="early_termination_fee_minor",
            )
        if reason is None:
            raise ValidationFailed("give the reason for the early termination and its fee", field="reason")
    return early


async def set_notice(
    session: AsyncSession, actor: Actor, lease: Lease, notice_days: int, *, now: datetime | None = None
) -> Lease:
    """Staff set the lease's notice period: a dated amendment of its terms (rule 11), audited."""
    require_live(lease)
    previous = lease.notice_days
    if previous == notice_days:
        return lease
    today = site_today(await lease_site(session, lease), now)
    lease.notice_days = notice_days
    lease.updated_at = datetime.now(UTC)
    session.add(
        LeaseAmendment(
            lease_id=lease.id,
            kind="notice_set",
            effective_date=today,
            details={"previous_notice_days": previous, "notice_days": notice_days},
            actor_id=actor.subject,
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "lease.notice",
        "lease",
        lease.id,
        before={"notice_days": previous},
        after={"notice_days": notice_days},
        client_id=lease.client_id,
    )
    return lease
