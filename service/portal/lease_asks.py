"""What the portal asks before a client's destructive action on a lease (issue 14): ending it,
cancelling it, releasing a seat. The admin's confirmation (service/admin/confirm.py: a dry run
first, then a server-rendered page with "Go back, change nothing"), in the portal's frame and in a
client's words: what happens to the seats, the agents' access and the bill."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import queries
from domain.models import Lease, Member
from domain.rules.money import format_money
from domain.services import catalog
from domain.services.charges import ClientLimits, cancellation_fee_minor
from service.admin.confirm import AskField, confirm_page
from service.portal.web import render


async def _who(session: AsyncSession, lease: Lease) -> tuple[str, date, int]:
    site = await catalog.get_site(session, lease.site_id)
    seats = len((await queries.lease_views(session, [lease]))[0].seats)
    return f"{site.code} · {lease.shift_code} from {lease.start_date}", catalog.site_today(site), seats


def _seats(n: int) -> str:
    return f"{n} seat{'s' if n != 1 else ''}"


async def confirm_end(request: Request, session: AsyncSession, lease: Lease, form: dict[str, Any], end: date) -> HTMLResponse:
    who, _, seats = await _who(session, lease)
    consequences = [
        f"Its {_seats(seats)} stay yours to the end of the day chosen and are free for others to book the day after.",
        "Your agents' Wi-Fi, directory and door-badge access on these seats end with the lease.",
        "Billing stops at the end date: the last month is prorated.",
    ]
    if lease.end_date and lease.end_date != end:
        consequences.insert(0, f"The lease now runs to {lease.end_date}; the date below replaces it.")
    return confirm_page(
        request,
        title="End the lease",
        question=f"End your lease {who}?",
        consequences=consequences,
        action=f"/portal/leases/{lease.id}/end",
        back=f"/portal/leases/{lease.id}",
        button="End the lease",
        ask=[
            AskField("end_date", "Last day of the lease", end.isoformat(), "date", "the lease holds its seats through this day")
        ],
        carry=form,
        renderer=render,
        template="portal/confirm.html",
    )


async def confirm_cancel(request: Request, session: AsyncSession, lease: Lease, limits: ClientLimits) -> HTMLResponse:
    who, today, seats = await _who(session, lease)
    consequences = [
        f"Its {_seats(seats)} are free for others to book at once, and its seat assignments are dropped.",
        "This cannot be undone: book again to lease seats again.",
    ]
    if (lease.start_date - today).days <= limits.cancellation_fee_window_days:
        site = await catalog.get_site(session, lease.site_id)
        fee = cancellation_fee_minor(lease.monthly_price_minor, seats, lease.discount_pct, limits.cancellation_fee_months)
        if fee > 0:
            consequences.insert(
                1,
                f"It starts in {limits.cancellation_fee_window_days} days or fewer: a cancellation fee of"
                f" {format_money(fee, site.currency)} ({limits.cancellation_fee_months} month(s) of the seat price"
                f" × {_seats(seats)}) is billed on your next invoice.",
            )
    return confirm_page(
        request,
        title="Cancel the lease",
        question=f"Cancel your lease {who}, before it starts?",
        consequences=consequences,
        action=f"/portal/leases/{lease.id}/cancel",
        back=f"/portal/leases/{lease.id}",
        button="Cancel the lease",
        renderer=render,
        template="portal/confirm.html",
    )


async def confirm_release(
    request: Request,
    session: AsyncSession,
    lease: Lease,
    seat_id: uuid.UUID,
    form: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    who, today, _ = await _who(session, lease)
    label, member, earliest = await queries.seat_release_facts(session, lease, seat_id, today)
    default = str(form.get("effective") or earliest)
    consequences = [
        f"{label} leaves your lease from the date below (its last day is the day before); others may book it from then.",
        "Your rent drops by one seat from that date, prorated.",
    ]
    if member is not None:
        consequences.append(f"{member.name}, who sits there, loses the seat and its access then: assign them another seat.")
    return confirm_page(
        request,
        title="Release a seat",
        question=f"Release seat {label} from your lease {who}?",
        consequences=consequences,
        action=f"/portal/leases/{lease.id}/seats/{seat_id}/release",
        back=f"/portal/leases/{lease.id}#assignments",
        button=f"Release {label}",
        ask=[AskField("effective", "Free from", default, "date", "the first day the seat is no longer yours")],
        carry=form,
        errors=errors,
        status_code=422 if errors else 200,
        renderer=render,
        template="portal/confirm.html",
    )


async def confirm_remove_member(request: Request, member: Member, seats: list[str]) -> HTMLResponse:
    consequences = [
        "They leave their team and every seat they are assigned to.",
        "Every facility credential they hold (Wi-Fi, directory account, door badge) is revoked.",
        "This cannot be undone: add them again as a new agent if they come back.",
    ]
    if seats:
        many = len(seats) != 1
        consequences.insert(
            1, f"Their seat{'s' if many else ''} {', '.join(seats)} stay{'' if many else 's'} leased, with nobody at them."
        )
    return confirm_page(
        request,
        title="Remove an agent",
        question=f"Remove {member.name} ({member.email})?",
        consequences=consequences,
        action=f"/portal/members/{member.id}/remove",
        back=f"/portal/members/{member.id}",
        button=f"Remove {member.name}",
        renderer=render,
        template="portal/confirm.html",
    )
