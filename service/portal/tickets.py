"""The portal's tickets (issue 15): the client's own tickets, raising one about its leased seats, devices
and agents (with a file), the public timeline, commenting, attaching, reopening within the window and
confirming a resolution. The same use-cases as the API (domain/helpdesk/); another client's ticket is 404.
A client viewer reads; a client admin acts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from domain.errors import DomainError
from domain.helpdesk import comments as ticket_comments
from domain.helpdesk import queries, views
from domain.helpdesk import tickets as use
from domain.helpdesk.access import get_ticket
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.schemas import TicketCreate
from domain.models.ticket import CATEGORY_LABELS, TicketCategory, TicketPriority, TicketStatus
from domain.rules import ticket_flow as flow
from service.api.tickets import download_headers
from service.auth import Principal
from service.db import SessionDep
from service.portal.web import Client, ClientAdmin, CsrfForm, attempt, blank_to_none, redirect, render, tenant, validate_form

router = APIRouter(include_in_schema=False)  # included by service/portal/routes.py under /portal
STATE_FILTERS = ("open", "closed", "all")


def _config(request: Request) -> TicketConfig:
    config: TicketConfig = request.app.state.settings.tickets()
    return config


@router.get("/tickets", response_class=HTMLResponse)
async def tickets_page(
    request: Request,
    user: Client,
    session: SessionDep,
    state: Annotated[str | None, Query(max_length=8)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    state = state if state in STATE_FILTERS else "open"
    f = queries.TicketFilter(state=None if state == "all" else state)
    try:
        rows, nxt = await queries.list_tickets(session, user, f, cursor=cursor, limit=50)
    except DomainError:  # a cursor of a row gone: start again
        rows, nxt = await queries.list_tickets(session, user, f, cursor=None, limit=50)
    names = await views.names_for(session, rows)
    ctx = {"rows": rows, "names": names, "state": state, "next_cursor": nxt, "categories": CATEGORY_LABELS}
    return render(request, "portal/tickets.html", {**ctx, "flash": request.query_params.get("flash")})


async def _new_page(
    request: Request,
    session: AsyncSession,
    user: Principal,
    *,
    errors: dict[str, str] | None = None,
    v: dict[str, Any] | None = None,
) -> HTMLResponse:
    options = await views.raise_options(session, tenant(user), datetime.now(UTC))
    ctx = {
        "options": options,
        "categories": CATEGORY_LABELS,
        "priorities": [p.value for p in TicketPriority],
        "errors": errors or {},
        "v": v or {"priority": "normal", "category": "device"},
        "accept": ",".join(_config(request).attachment_types),
    }
    return render(request, "portal/ticket_new.html", ctx, status_code=422 if errors else 200)


@router.get("/tickets/new", response_class=HTMLResponse)
async def new_ticket_page(request: Request, user: ClientAdmin, session: SessionDep) -> HTMLResponse:
    return await _new_page(request, session, user)


def _upload(form: dict[str, Any]) -> UploadFile | None:
    f = form.get("file")
    return f if isinstance(f, UploadFile) and f.filename else None


@router.post("/tickets/new", response_model=None)
async def raise_ticket(request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    fields = ("site_id", "seat_id", "device_id", "member_id", "category", "priority", "subject", "description")
    values = {k: str(form.get(k, "")).strip() for k in fields}
    body, errors = validate_form(TicketCreate, blank_to_none(dict(values), "site_id", "seat_id", "device_id", "member_id"))
    config = _config(request)
    upload = _upload(form)
    data = await upload.read(config.attachment_max_bytes + 1) if upload else b""
    if body is not None:
        req = body

        async def make() -> Any:
            ticket = await use.raise_ticket(session, user, req, via="portal")
            if upload is not None:
                await ticket_comments.add_attachment(
                    session,
                    user,
                    ticket.id,
                    filename=upload.filename or "",
                    content_type=upload.content_type or "",
                    data=data,
                    config=config,
                )
            return ticket

        ticket, error = await attempt(session, make)
        if error is None:
            return redirect(request, f"/portal/tickets/{ticket.id}", f"Ticket T-{ticket.number} raised: the facility is told")
        errors = {error.field or "__all__": error.detail}
    return await _new_page(request, session, user, errors=errors, v=values)


async def _detail(
    request: Request,
    session: AsyncSession,
    user: Principal,
    ticket_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ticket = await get_ticket(session, user, ticket_id)
    config = _config(request)
    now = datetime.now(UTC)
    names = await views.names_for(session, [ticket])
    ctx = {
        "t": ticket,
        "view": queries.ticket_view(ticket, user, reopen_days=config.reopen_days),
        "names": names,
        "timeline": await queries.timeline(session, user, ticket.id),
        "moves": flow.client_targets(ticket.status, ticket.resolved_at, now, config.reopen_days),
        "open_for_comments": flow.accepts_comments(ticket.status),
        "categories": CATEGORY_LABELS,
        "errors": errors or {},
        "accept": ",".join(config.attachment_types),
        "flash": request.query_params.get("flash"),
    }
    return render(request, "portal/ticket.html", ctx, status_code=status_code)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(ticket_id: uuid.UUID, request: Request, user: Client, session: SessionDep) -> HTMLResponse:
    return await _detail(request, session, user, ticket_id)


@router.post("/tickets/{ticket_id}/comments", response_model=None)
async def comment(ticket_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    body = str(form.get("body", ""))
    _, error = await attempt(session, lambda: ticket_comments.add_comment(session, user, ticket_id, body))
    if error is None:
        return redirect(request, f"/portal/tickets/{ticket_id}#timeline", "Comment added")
    if error.status == 404:
        raise error
    return await _detail(request, session, user, ticket_id, errors={error.field or "body": error.detail}, status_code=422)


@router.post("/tickets/{ticket_id}/attachments", response_model=None)
async def attach(ticket_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm) -> Response:
    config = _config(request)
    upload = _upload(form)
    if upload is None:
        await get_ticket(session, user, ticket_id)  # another tenant's: 404 first
        return await _detail(request, session, user, ticket_id, errors={"file": "choose a file"}, status_code=422)
    data = await upload.read(config.attachment_max_bytes + 1)

    async def make() -> Any:
        return await ticket_comments.add_attachment(
            session,
            user,
            ticket_id,
            filename=upload.filename or "",
            content_type=upload.content_type or "",
            data=data,
            config=config,
        )

    att, error = await attempt(session, make)
    if error is None:
        return redirect(request, f"/portal/tickets/{ticket_id}#timeline", f"{att.filename} attached")
    if error.status == 404:
        raise error
    return await _detail(request, session, user, ticket_id, errors={"file": error.detail}, status_code=422)


@router.post("/tickets/{ticket_id}/status", response_model=None)
async def change_status(
    ticket_id: uuid.UUID, request: Request, user: ClientAdmin, session: SessionDep, form: CsrfForm
) -> Response:
    to = str(form.get("status", ""))
    if to not in {s.value for s in TicketStatus}:
        to = ""
    note = str(form.get("body", "")).strip()

    async def make() -> Any:
        ticket = await use.change_status(session, user, ticket_id, to, config=_config(request))
        if note:
            await ticket_comments.add_comment(session, user, ticket_id, note)
        return ticket

    ticket, error = await attempt(session, make)
    if error is None:
        said = "Reopened: the facility is on it again" if ticket.status == flow.IN_PROGRESS else "Confirmed: the ticket is closed"
        return redirect(request, f"/portal/tickets/{ticket_id}", said)
    if error.status == 404:
        raise error
    return await _detail(request, session, user, ticket_id, errors={"status": error.detail}, status_code=422)


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def download(
    ticket_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, user: Client, session: SessionDep
) -> Response:
    att, data = await ticket_comments.read_attachment(session, user, ticket_id, attachment_id, config=_config(request))
    return Response(data, media_type=att.content_type, headers=download_headers(att.filename))


__all__ = ["TicketCategory", "router"]
