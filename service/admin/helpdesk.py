"""The help desk's queue page (issue 15): what staff work from. Open tickets, nearest due instant
first, with due-soon and breached flags; filtered; paged by a cursor new tickets don't shift.
The query is domain/helpdesk/queue.py `ticket_queue`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter

from domain.errors import NotFound, ValidationFailed
from domain.helpdesk.queue import (
    QueueCursor,
    QueueFilters,
    recently_done,
    staff_assignees,
    ticket_id_by_number,
    ticket_queue,
)
from domain.models import TicketCategory, TicketPriority
from domain.rules.ticket_flow import OPEN_STATUSES
from domain.services import catalog
from service.admin import sla_policies
from service.admin.web import Ops, optional_uuid, render
from service.db import SessionDep

router = APIRouter()
router.include_router(sla_policies.router)
PAGE_SIZE = 50


def due_text(due: datetime | None, now: datetime) -> str:
    """'in 1h 05m' / '12m overdue': how staff read a due instant."""
    if due is None:
        return "—"
    left = int((due - now).total_seconds())
    span = abs(left) // 60
    text = (
        f"{span // 1440}d {span % 1440 // 60}h"
        if span >= 1440
        else f"{span // 60}h {span % 60:02d}m"
        if span >= 60
        else f"{span}m"
    )
    return f"in {text}" if left >= 0 else f"{text} overdue"


def local(at: datetime | None, zone: str) -> str:
    if at is None:
        return "—"
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M UTC%z")


def _choice(value: str | None, allowed: tuple[str, ...], name: str, errors: dict[str, str]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        errors[name] = f"one of {', '.join(allowed)}"
        return None
    return value


@router.get("/tickets", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    user: Ops,
    session: SessionDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    priority: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    mine: Annotated[str | None, Query(max_length=8)] = None,
    unassigned: Annotated[str | None, Query(max_length=8)] = None,
    due_soon: Annotated[str | None, Query(max_length=8)] = None,
    breached: Annotated[str | None, Query(max_length=8)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    site_id, assignee_id = optional_uuid(site), optional_uuid(assignee)
    if site and site_id is None:
        errors["site"] = "not a site"
    if assignee and assignee_id is None:
        errors["assignee"] = "not a staff member"
    filters = QueueFilters(
        site_id=site_id,
        status=_choice(status, OPEN_STATUSES, "status", errors),
        category=_choice(category, tuple(TicketCategory), "category", errors),
        priority=_choice(priority, tuple(TicketPriority), "priority", errors),
        assignee_id=user.subject if mine else assignee_id,
        unassigned=bool(unassigned),
        due_soon=bool(due_soon),
        breached=bool(breached),
    )
    cursor = None
    if after:
        try:
            cursor = QueueCursor.decode(after)
        except ValidationFailed as exc:
            errors["after"] = exc.detail
    now = datetime.now(UTC)
    page = await ticket_queue(session, filters, now=now, after=cursor, limit=PAGE_SIZE) if not errors else None
    f = {
        "site": site or "",
        "status": status or "",
        "category": category or "",
        "priority": priority or "",
        "assignee": assignee or "",
        "mine": "1" if mine else "",
        "unassigned": "1" if unassigned else "",
        "due_soon": "1" if due_soon else "",
        "breached": "1" if breached else "",
    }
    query = urlencode({k: v for k, v in f.items() if v})
    sites = await catalog.all_sites(session)
    zones = {s.id: s.timezone for s in sites}
    ctx: dict[str, Any] = {
        "rows": page.rows if page else [],
        "done": await recently_done(session, site_id=site_id) if not errors else [],
        "f": f,
        "errors": errors,
        "sites": sites,
        "zones": zones,
        "staff": await staff_assignees(session),
        "statuses": OPEN_STATUSES,
        "categories": tuple(TicketCategory),
        "priorities": tuple(TicketPriority),
        "next_url": f"/admin/tickets?{query + '&' if query else ''}after={page.next_cursor.encode()}"
        if page and page.next_cursor
        else None,
        "first_url": f"/admin/tickets?{query}" if cursor else None,
        "due_text": lambda due: due_text(due, now),
        "local": local,
    }
    return render(request, "tickets.html", ctx, status_code=422 if errors else 200)


@router.get("/tickets/find", response_class=HTMLResponse, response_model=None)
async def find_ticket(
    request: Request, user: Ops, session: SessionDep, number: Annotated[str, Query(max_length=40)] = ""
) -> HTMLResponse | RedirectResponse:
    """Straight to the ticket people name ("T-1042"), open or not."""
    ticket_id = await ticket_id_by_number(session, number)
    if ticket_id is not None:
        return RedirectResponse(f"/admin/tickets/{ticket_id}", status_code=303)
    raise NotFound(f"no ticket is numbered {number.strip() or '(nothing)'}")
