"""The admin's ticket pages (issue 15): raise a ticket for a client or the facility, and work one:
acknowledge, move it along with the resolution's text, assign, comment or note, attach, re-classify; with
its SLA clocks and its whole timeline (internal notes marked). The use-cases are the API's
(domain/helpdesk/tickets.py, comments.py); this module parses, calls and renders."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from domain.errors import DomainError
from domain.helpdesk import comments as ticket_comments
from domain.helpdesk import queries
from domain.helpdesk import tickets as use
from domain.helpdesk.access import get_ticket
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.queue import staff_assignees
from domain.helpdesk.schemas import TicketCreate
from domain.helpdesk.staff_views import device_by_serial, raise_choices, seat_by_label, ticket_facts
from domain.models import TicketCategory, TicketPriority
from domain.rules import ticket_flow as flow
from service.admin.helpdesk import local
from service.admin.web import CsrfForm, Ops, attempt, blank_to_none, optional_uuid, redirect, render, validate_form
from service.api.tickets import download_headers
from service.auth import Principal
from service.db import SessionDep

router = APIRouter()
ID_FIELDS = ("site_id", "client_id", "lease_id", "member_id")


def _config(request: Request) -> TicketConfig:
    config: TicketConfig = request.app.state.settings.tickets()
    return config


def _upload(form: dict[str, Any]) -> UploadFile | None:
    """The form's file (Starlette's UploadFile: what request.form() holds, not FastAPI's subclass)."""
    f = form.get("file")
    return f if isinstance(f, UploadFile) and f.filename else None


async def _new_page(
    request: Request, session: AsyncSession, *, v: dict[str, str], errors: dict[str, str] | None = None
) -> HTMLResponse:
    sites, clients = await raise_choices(session)
    ctx = {
        "sites": sites,
        "clients": clients,
        "categories": tuple(TicketCategory),
        "priorities": tuple(TicketPriority),
        "v": v,
        "errors": errors or {},
        "accept": ",".join(_config(request).attachment_types),
    }
    return render(request, "ticket_new.html", ctx, status_code=422 if errors else 200)


@router.get("/tickets/new", response_class=HTMLResponse)
async def new_ticket_page(request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    """Pages about a seat, device, lease or client link here with those filled in (query string)."""
    keys = (*ID_FIELDS, "seat", "device", "category", "priority")
    v = {k: request.query_params.get(k, "")[:100] for k in keys}
    v["priority"] = v["priority"] or "normal"
    return await _new_page(request, session, v=v)


async def _refs(session: AsyncSession, v: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The form's words as the use-case's ids: a seat by its label on the chosen site (or its id), a
    device by its serial (or its id)."""
    data: dict[str, Any] = blank_to_none(
        {k: v[k] for k in (*ID_FIELDS, "category", "priority", "subject", "description")}, *ID_FIELDS
    )
    site_id = optional_uuid(v["site_id"])
    if v["seat"]:
        seat_id = optional_uuid(v["seat"])
        if seat_id is None and site_id is not None:
            seat = await seat_by_label(session, site_id, v["seat"])
            seat_id = seat.id if seat else None
        if seat_id is None:
            errors["seat"] = "no seat with this label on the site" if site_id else "choose the site, then name its seat"
        data["seat_id"] = str(seat_id) if seat_id else None
    if v["device"]:
        device_id = optional_uuid(v["device"])
        if device_id is None:
            device = await device_by_serial(session, v["device"])
            device_id = device.id if device else None
        if device_id is None:
            errors["device"] = "no device with this serial"
        data["device_id"] = str(device_id) if device_id else None
    return data


@router.post("/tickets/new", response_model=None)
async def raise_ticket(request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    fields = (*ID_FIELDS, "seat", "device", "category", "priority", "subject", "description")
    v = {k: str(form.get(k, "")).strip() for k in fields}
    errors: dict[str, str] = {}
    data = await _refs(session, v, errors)
    body, form_errors = validate_form(TicketCreate, {k: x for k, x in data.items() if x is not None})
    errors = {**form_errors, **errors}
    config = _config(request)
    upload = _upload(form)
    content = await upload.read(config.attachment_max_bytes + 1) if upload else b""
    internal = form.get("internal") == "1"
    if body is not None and not errors:
        req = body

        async def make() -> Any:
            ticket = await use.raise_ticket(session, user, req, via="admin")
            if upload is not None:
                await ticket_comments.add_attachment(
                    session, user, ticket.id, filename=upload.filename or "", content_type=upload.content_type or "",
                    data=content, config=config, internal=internal,
                )  # fmt: skip
            return ticket

        ticket, error = await attempt(session, make)
        if error is None:
            return redirect(request, f"/admin/tickets/{ticket.id}", f"Ticket T-{ticket.number} raised")
        errors = {_form_field(error.field): error.detail}
    return await _new_page(request, session, v=v, errors=errors)


def _form_field(field: str | None) -> str:
    return {"seat_id": "seat", "device_id": "device", None: "__all__"}.get(field, field or "__all__")


async def _detail(
    request: Request, session: AsyncSession, user: Principal, ticket_id: uuid.UUID, *,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    ticket = await get_ticket(session, user, ticket_id)
    config = _config(request)
    now = datetime.now(UTC)
    facts = await ticket_facts(session, ticket, now)
    ctx = {
        "t": ticket,
        "facts": facts,
        "view": queries.ticket_view(ticket, user, reopen_days=config.reopen_days),
        "timeline": await queries.timeline(session, user, ticket.id),
        "moves": flow.staff_targets(ticket.status),
        "open_for_comments": flow.accepts_comments(ticket.status),
        "staff": await staff_assignees(session),
        "categories": tuple(TicketCategory),
        "priorities": tuple(TicketPriority),
        "errors": errors or {},
        "accept": ",".join(config.attachment_types),
        "local": lambda at: local(at, facts.site.timezone),
        "short": lambda at: at.astimezone(ZoneInfo(facts.site.timezone)).strftime("%a %d %b %H:%M") if at else "—",
        "now": now,
    }
    return render(request, "ticket_detail.html", ctx, status_code=status_code)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep) -> HTMLResponse:
    return await _detail(request, session, user, ticket_id)


async def _act(
    request: Request, session: AsyncSession, user: Principal, ticket_id: uuid.UUID,
    work: Callable[[], Awaitable[Any]], said: str, field: str,
) -> Response:  # fmt: skip
    """Run one action; on a refusal the page again with the reason beside the form that asked."""
    _, error = await attempt(session, work)
    if error is None:
        return redirect(request, f"/admin/tickets/{ticket_id}", said)
    if error.status == 404:
        raise error
    return await _detail(request, session, user, ticket_id, errors={error.field or field: error.detail}, status_code=422)


@router.post("/tickets/{ticket_id}/status", response_model=None)
async def change_status(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    to = str(form.get("status", ""))
    resolution = str(form.get("resolution", ""))
    work = lambda: use.change_status(session, user, ticket_id, to, config=_config(request), resolution=resolution)  # noqa: E731
    return await _act(request, session, user, ticket_id, work, f"Status: {to.replace('_', ' ')}", "status")


@router.post("/tickets/{ticket_id}/assign", response_model=None)
async def assign(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    raw = str(form.get("assignee_id", ""))
    who = user.subject if raw == "me" else optional_uuid(raw)
    if raw and raw != "me" and who is None:
        return await _detail(request, session, user, ticket_id, errors={"assignee_id": "not a staff member"}, status_code=422)
    said = "Assigned to you" if raw == "me" else ("Assigned" if who else "Unassigned")
    return await _act(request, session, user, ticket_id, lambda: use.assign(session, user, ticket_id, who), said, "assignee_id")


@router.post("/tickets/{ticket_id}/triage", response_model=None)
async def triage(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    priority = str(form.get("priority", "")) or None
    category = str(form.get("category", "")) or None
    errors: dict[str, str] = {}
    if priority is not None and priority not in tuple(TicketPriority):
        errors["priority"] = "one of " + ", ".join(TicketPriority)
    if category is not None and category not in tuple(TicketCategory):
        errors["category"] = "one of " + ", ".join(TicketCategory)
    if errors:
        return await _detail(request, session, user, ticket_id, errors=errors, status_code=422)
    work = lambda: use.change_triage(session, user, ticket_id, priority=priority, category=category)  # noqa: E731
    return await _act(request, session, user, ticket_id, work, "Re-classified: the SLA follows", "priority")


@router.post("/tickets/{ticket_id}/comments", response_model=None)
async def comment(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    body = str(form.get("body", ""))
    internal = form.get("internal") == "1"
    work = lambda: ticket_comments.add_comment(session, user, ticket_id, body, internal=internal)  # noqa: E731
    return await _act(request, session, user, ticket_id, work, "Internal note added" if internal else "Comment sent", "body")


@router.post("/tickets/{ticket_id}/attachments", response_model=None)
async def attach(ticket_id: uuid.UUID, request: Request, user: Ops, session: SessionDep, form: CsrfForm) -> Response:
    config = _config(request)
    upload = _upload(form)
    if upload is None:
        await get_ticket(session, user, ticket_id)
        return await _detail(request, session, user, ticket_id, errors={"file": "choose a file"}, status_code=422)
    data = await upload.read(config.attachment_max_bytes + 1)
    internal = form.get("internal") == "1"

    async def work() -> Any:
        return await ticket_comments.add_attachment(
            session, user, ticket_id, filename=upload.filename or "", content_type=upload.content_type or "",
            data=data, config=config, internal=internal,
        )  # fmt: skip

    return await _act(request, session, user, ticket_id, work, f"{upload.filename} attached", "file")


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def download(ticket_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, user: Ops, session: SessionDep) -> Response:
    att, data = await ticket_comments.read_attachment(session, user, ticket_id, attachment_id, config=_config(request))
    return Response(data, media_type=att.content_type, headers=download_headers(att.filename))


__all__ = ["DomainError", "router"]
