"""The help desk's tickets (issue 15): raise, list, read, move along the workflow, assign, re-classify,
comment, attach files, read the history.

Who may call: staff (admin, facility_staff) work every ticket; finance reads. A client's admin raises
and works its own client's tickets, a client viewer reads them; another tenant's ticket is 404. A client
never sees an internal note, internal attachment or internal history row (nor who it is assigned to).
The use-cases are domain/helpdesk/; this module parses, calls and renders.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from domain.errors import ValidationFailed
from domain.helpdesk import comments as ticket_comments
from domain.helpdesk import queries
from domain.helpdesk import tickets as use
from domain.helpdesk.access import get_ticket as get_ticket_or_404
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.schemas import (
    AttachmentList,
    AttachmentOut,
    CommentCreate,
    CommentList,
    CommentOut,
    EventList,
    StatusChange,
    TicketAssignment,
    TicketCreate,
    TicketOut,
    Triage,
)
from domain.models.ticket import Ticket, TicketCategory, TicketPriority, TicketStatus
from domain.schemas import Page
from service.api.deps import Cursor, Limit
from service.auth import ClientWriter, StaffUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
BINARY = {"type": "string", "format": "binary"}


def ticket_config(request: Request) -> TicketConfig:
    config: TicketConfig = request.app.state.settings.tickets()
    return config


def _view(ticket: Ticket, user: TenantReader, config: TicketConfig) -> TicketOut:
    return queries.ticket_view(ticket, user, reopen_days=config.reopen_days)


@router.get("", response_model=Page[TicketOut], summary="List tickets")
async def list_tickets(
    request: Request,
    user: TenantReader,
    session: SessionDep,
    status: Annotated[list[TicketStatus] | None, Query(description="one or more statuses")] = None,
    category: Annotated[list[TicketCategory] | None, Query()] = None,
    priority: Annotated[list[TicketPriority] | None, Query()] = None,
    state: Annotated[
        Literal["open", "closed"] | None, Query(description="open: not resolved yet; closed: resolved or closed")
    ] = None,
    client_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    seat_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    lease_id: uuid.UUID | None = None,
    assignee_id: Annotated[uuid.UUID | None, Query(description="staff only (ignored for a client)")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[TicketOut]:
    """Tickets, newest first (then by id), paged on (created_at, id): tickets raised between pages are
    neither skipped nor repeated. A client's token lists its own client's only."""
    config = ticket_config(request)
    f = queries.TicketFilter(
        status=status or (),
        category=category or (),
        priority=priority or (),
        state=state,
        client_id=client_id,
        site_id=site_id,
        seat_id=seat_id,
        device_id=device_id,
        lease_id=lease_id,
        assignee_id=assignee_id,
    )
    rows, nxt = await queries.list_tickets(session, user, f, cursor=cursor, limit=limit)
    return Page(items=[_view(t, user, config) for t in rows], next_cursor=nxt)


@router.post("", status_code=201, response_model=TicketOut, summary="Raise a ticket", description=(
    "Open a ticket (status `new`) about a seat, device, lease and agent. A client token's `client_id` "
    "defaults to its own and may name no other (404); its seat must be one a live lease of the client holds "
    "today, the device one on such a seat, the lease and agent its own, all on the ticket's site (422 naming "
    "the field). `site_id` may be left out when the seat, device or lease says it. Staff may raise for any "
    "client, or for none (the facility's own ticket). The client hears of it (email, `ticket.updated`)."
))  # fmt: skip
async def create_ticket(
    body: TicketCreate, request: Request, user: ClientWriter, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    config = ticket_config(request)

    async def make() -> TicketOut:
        return _view(await use.raise_ticket(session, user, body, via="api"), user, config)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/{ticket_id}", response_model=TicketOut, summary="Get a ticket")
async def get_ticket(ticket_id: uuid.UUID, request: Request, user: TenantReader, session: SessionDep) -> TicketOut:
    """The ticket, with its SLA due instants and, when resolved, until when it may be reopened."""
    return _view(await get_ticket_or_404(session, user, ticket_id), user, ticket_config(request))


@router.post("/{ticket_id}/status", response_model=TicketOut, summary="Change a ticket's status", description=(
    "Move the ticket along the workflow: new → acknowledged → in_progress → waiting_on_client → resolved → "
    "closed, with the shortcuts (new → in_progress, any open status → resolved, waiting_on_client → "
    "in_progress). Resolving needs `resolution`. A resolved ticket may be reopened (→ in_progress, counted in "
    "`reopened_count`) or confirmed (→ closed). Staff make every move; a client admin only reopens its "
    "resolved ticket within SEATLEASE_TICKET_REOPEN_DAYS (default 7) of its resolution, or confirms it "
    "(other moves 403 naming `status`). A move the workflow has not, or a reopen after the window: 409 naming "
    "`status`. After the window the worker closes a resolved ticket itself."
))  # fmt: skip
async def change_ticket_status(
    ticket_id: uuid.UUID, body: StatusChange, request: Request, user: ClientWriter, session: SessionDep
) -> TicketOut:
    config = ticket_config(request)
    ticket = await use.change_status(session, user, ticket_id, body.status, config=config, resolution=body.resolution)
    return _view(ticket, user, config)


@router.put("/{ticket_id}/assignee", response_model=TicketOut, summary="Assign a ticket")
async def assign_ticket(
    ticket_id: uuid.UUID, body: TicketAssignment, request: Request, user: StaffUser, session: SessionDep
) -> TicketOut:
    """Give the ticket to an active admin or facility_staff user (`assignee_id`; null: nobody; anyone else
    422 naming `assignee_id`). Internal: recorded in the history, not shown nor sent to the client."""
    config = ticket_config(request)
    return _view(await use.assign(session, user, ticket_id, body.assignee_id), user, config)


@router.patch("/{ticket_id}", response_model=TicketOut, summary="Re-classify a ticket")
async def update_ticket(ticket_id: uuid.UUID, body: Triage, request: Request, user: StaffUser, session: SessionDep) -> TicketOut:
    """Change the ticket's priority and/or category (the SLA targets follow). A closed ticket is final (409)."""
    config = ticket_config(request)
    ticket = await use.change_triage(session, user, ticket_id, priority=body.priority, category=body.category)
    return _view(ticket, user, config)


@router.get("/{ticket_id}/comments", response_model=CommentList, summary="List a ticket's comments")
async def list_ticket_comments(ticket_id: uuid.UUID, user: TenantReader, session: SessionDep) -> CommentList:
    """The comments, oldest first; a client's token never sees an internal note."""
    rows = await queries.comments_of(session, user, ticket_id)
    return CommentList(items=[queries.comment_view(c) for c in rows])


@router.post("/{ticket_id}/comments", status_code=201, response_model=CommentOut, summary="Comment on a ticket")
async def add_ticket_comment(
    ticket_id: uuid.UUID, body: CommentCreate, user: ClientWriter, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """A comment. `internal: true` is a staff-only note (a client's 403 naming `internal`), never shown nor
    sent to the client. A client's comment on a ticket waiting on it moves it back to in_progress; the first
    public staff comment is the ticket's response. A closed ticket takes none (409)."""

    async def make() -> CommentOut:
        comment = await ticket_comments.add_comment(session, user, ticket_id, body.body, internal=body.internal)
        return queries.comment_view(comment)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/{ticket_id}/attachments", response_model=AttachmentList, summary="List a ticket's attachments")
async def list_ticket_attachments(ticket_id: uuid.UUID, user: TenantReader, session: SessionDep) -> AttachmentList:
    """The attachments' descriptions, oldest first; a client's token never sees an internal one."""
    rows = await queries.attachments_of(session, user, ticket_id)
    return AttachmentList(items=[queries.attachment_view(a) for a in rows])


@router.post("/{ticket_id}/attachments", status_code=201, response_model=AttachmentOut, summary="Attach a file to a ticket")
async def add_ticket_attachment(
    ticket_id: uuid.UUID,
    request: Request,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
    file: Annotated[UploadFile | None, File(description="the file (multipart/form-data); required")] = None,
    internal: Annotated[bool, Form(description="staff only: a file the client never sees")] = False,
) -> JSONResponse:
    """Upload a file (multipart/form-data, field `file`). Its type must be one of
    SEATLEASE_TICKET_ATTACHMENT_TYPES and its bytes of that type (415 / 422 naming `file`), at most
    SEATLEASE_TICKET_ATTACHMENT_MAX_BYTES (413 naming `file`). The file name is kept sanitized (no folders, no
    control characters). Kept in the database, or in SEATLEASE_TICKET_ATTACHMENT_DIR named by its SHA-256.
    An `Idempotency-Key` replays the first answer for the same file (name, type, bytes) and `internal`."""
    config = ticket_config(request)
    if file is None:  # optional in the schema so that another tenant's ticket is a 404 before this 422
        await get_ticket_or_404(session, user, ticket_id)
        raise ValidationFailed("attach a file (multipart/form-data, field `file`)", field="file")
    data = await file.read(config.attachment_max_bytes + 1)  # read no more than the limit allows
    name, ctype = file.filename or "", file.content_type or ""

    async def make() -> AttachmentOut:
        att = await ticket_comments.add_attachment(
            session, user, ticket_id, filename=name, content_type=ctype, data=data, config=config, internal=internal
        )
        return queries.attachment_view(att)

    # the key is bound to the file itself: its name, type, bytes (by their hash) and `internal`
    same = {"filename": name, "content_type": ctype, "sha256": hashlib.sha256(data).hexdigest(), "internal": internal}
    return await idem.run(session, str(user.subject), same, make)


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=Response,
    summary="Download a ticket's attachment",
    responses={200: {"content": {"application/octet-stream": {"schema": BINARY}}, "description": "the file"}},
)
async def download_ticket_attachment(
    ticket_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, user: TenantReader, session: SessionDep
) -> Response:
    """The file's bytes, always as a download (`Content-Disposition: attachment`, `nosniff`): a browser never
    renders an uploaded file in the application's origin. An internal attachment asked for by a client is 404."""
    att, data = await ticket_comments.read_attachment(session, user, ticket_id, attachment_id, config=ticket_config(request))
    return Response(data, media_type=att.content_type, headers=download_headers(att.filename))


def download_headers(filename: str) -> dict[str, str]:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }


@router.get("/{ticket_id}/events", response_model=EventList, summary="A ticket's history")
async def list_ticket_events(ticket_id: uuid.UUID, user: TenantReader, session: SessionDep) -> EventList:
    """Every change of the ticket, oldest first: raised, status changes, re-classifications, comments,
    attachments (and, for staff, assignments and internal notes). A client's token sees the public rows only."""
    rows = await queries.events_of(session, user, ticket_id)
    return EventList(items=[queries.event_view(e) for e in rows])
