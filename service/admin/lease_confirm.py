"""What the lease page says before an action (issue 13): the destructive ones (ending the lease,
cancelling it, releasing one seat, withdrawing its proposal) on a page that names the lease, what
will change and from when, and asks for the effective date where one applies
(service/admin/confirm.py); an approval, what is asked (the discount, the prices, who asked)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from domain.leasing import queries
from domain.models import Client, Lease, User
from domain.rules.money import apply_discount, format_money
from domain.services import catalog
from service.admin.confirm import AskField, confirm_page


async def _who(session: AsyncSession, lease: Lease) -> tuple[str, str, date]:
    client = await session.get(Client, lease.client_id)
    site = await catalog.get_site(session, lease.site_id)
    name = client.legal_name if client else "the client"
    return f"{name} · {site.code} · {lease.shift_code}", site.currency, catalog.site_today(site)


async def _seat_count(session: AsyncSession, lease: Lease) -> int:
    view = (await queries.lease_views(session, [lease]))[0]
    return len(view.seats)


async def confirm_end(
    request: Request, session: AsyncSession, lease: Lease, form: dict[str, Any], end: date, fee: int | None
) -> HTMLResponse:
    who, currency, _ = await _who(session, lease)
    seats = await _seat_count(session, lease)
    consequences = [
        f"Its {seats} seat{'s' if seats != 1 else ''} stay leased to the end of the day chosen"
        " and are free to book the day after.",
        "The agents' Wi-Fi, directory and badge access end with the lease; devices on its seats are marked to come back.",
        "Billing stops at the end date: the last month is prorated.",
    ]
    if lease.end_date and lease.end_date != end:
        consequences.insert(0, f"The lease now runs to {lease.end_date}; the date below replaces it.")
    if fee:
        consequences.append(f"An early-termination fee of {format_money(fee, currency)} is billed on the next invoice.")
    if form.get("reason"):
        consequences.append(f"Reason recorded: {form.get('reason')}")
    return confirm_page(
        request,
        title="End the lease",
        question=f"End the lease of {who}?",
        consequences=consequences,
        action=f"/admin/leases/{lease.id}/end",
        back=f"/admin/leases/{lease.id}",
        button="End the lease",
        ask=[
            AskField("end_date", "Last day of the lease", end.isoformat(), "date", "the lease holds its seats through this day")
        ],
        carry=form,
    )


async def confirm_cancel(request: Request, session: AsyncSession, lease: Lease) -> HTMLResponse:
    who, _, _ = await _who(session, lease)
    seats = await _seat_count(session, lease)
    return confirm_page(
        request,
        title="Cancel the lease",
        question=f"Cancel the lease of {who}, before it starts on {lease.start_date}?",
        consequences=[
            f"Its {seats} seat{'s' if seats != 1 else ''} are free to book at once and its seat assignments are dropped.",
            "It is never billed; staff charge no cancellation fee.",
            "This cannot be undone: book a new lease to lease the seats again.",
        ],
        action=f"/admin/leases/{lease.id}/cancel",
        back=f"/admin/leases/{lease.id}",
        button="Cancel the lease",
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
    who, _, today = await _who(session, lease)
    label, member, earliest = await queries.seat_release_facts(session, lease, seat_id, today)
    default = str(form.get("effective") or earliest)
    consequences = [
        f"{label} leaves the lease from the date below (its last day is the day before) and is free to book from then.",
        "The lease's rent drops by one seat from that date, prorated.",
    ]
    if member is not None:
        consequences.append(f"{member.name}, who sits there, loses the seat and its access then: assign them another seat.")
    return confirm_page(
        request,
        title="Release a seat",
        question=f"Release seat {label} from the lease of {who}?",
        consequences=consequences,
        action=f"/admin/leases/{lease.id}/seats/{seat_id}/release",
        back=f"/admin/leases/{lease.id}#assignments",
        button=f"Release {label}",
        ask=[AskField("effective", "Free from", default, "date", "the first day the seat is no longer leased")],
        carry=form,
        errors=errors,
        status_code=422 if errors else 200,
    )


async def confirm_withdraw(request: Request, session: AsyncSession, lease: Lease) -> HTMLResponse:
    who, _, _ = await _who(session, lease)
    seats = await _seat_count(session, lease)
    return confirm_page(
        request,
        title="Withdraw the proposal",
        question=f"Withdraw the proposal to {who}?",
        consequences=[
            f"The {seats} seat{'s' if seats != 1 else ''} it holds are free to book at once.",
            "The client can no longer accept it; send a new proposal to offer the seats again.",
        ],
        action=f"/admin/leases/{lease.id}/withdraw-proposal",
        back=f"/admin/leases/{lease.id}",
        button="Withdraw the proposal",
    )


async def approval_ask(session: AsyncSession, lease: Lease, seat_price_minor: int, view: Any, request: Request) -> dict[str, Any]:
    """The discount asked, the seat price before and after it, the month's rent, who asked and when."""
    seats = len(view.seats)
    discounted = seat_price_minor + apply_discount(seat_price_minor, lease.discount_pct)  # the discount is negative
    asker = await session.get(User, lease.created_by) if lease.created_by else None
    return {
        "discount_pct": lease.discount_pct,
        "threshold_pct": request.app.state.settings.discount_approval_threshold_pct,
        "seat_price_minor": seat_price_minor,
        "discounted_minor": discounted,
        "seats": seats,
        "monthly_minor": discounted * seats,
        "asked_by": asker.email if asker else None,
        "asked_at": lease.created_at,
    }
