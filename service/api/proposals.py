"""Proposals (seats held for a client until it accepts) and quotes (a lease's price, nothing written)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from billing import proposal_doc, proposal_mail
from billing.quote import QuoteOut, quote_booking
from domain.errors import Forbidden, NotFound
from domain.leasing import proposals
from domain.leasing.schemas import LeaseCreate
from domain.models import Lease as LeaseRow
from domain.models import Role
from domain.schemas import Page
from service.api.deps import PDF_CONTENT, Cursor, Limit
from service.auth import ClientWriter, Principal, StaffUser, TenantReader
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(tags=["proposals"])


async def _load(session: SessionDep, proposal_id: uuid.UUID, user: Principal, *, for_update: bool = False) -> LeaseRow:
    """Under the tenant filter first: another client's proposal does not exist."""
    lease = await proposals.get_proposal(session, proposal_id, for_update=for_update)
    if lease is None:
        raise NotFound("proposal not found")
    user.require_client(lease.client_id, "proposal")
    return lease


async def _priced(session: SessionDep, lease: LeaseRow, request: Request) -> proposal_doc.PricedProposal:
    view = (await proposals.proposal_views(session, [lease]))[0]
    threshold = request.app.state.settings.discount_approval_threshold_pct
    return await proposal_doc.priced(session, view, lease, discount_threshold_pct=threshold)


@router.post(
    "/v1/proposals",
    status_code=201,
    response_model=proposal_doc.PricedProposal,
    summary="Propose a lease to a client, holding its seats",
    description="""Roles: admin, facility_staff.

The body is a lease's booking (as `POST /v1/leases`: seats by `seat_count` or `seat_ids`, add-ons,
`discount_pct`, `end_date` for a fixed term) with `notice_days` and `expires_at` (default now +
SEATLEASE_PROPOSAL_HOLD_DAYS, 14 days; at most 180 days ahead). The seats are taken at once (**409**
`seats-unavailable` when they are not free) and held until `expires_at`: nobody else can book them.
The answer carries the price by billing's own rules: the first invoice line by line, then a full month.
The proposal's `id` is the id of the lease it becomes when the client accepts it.""",
)
async def create_proposal(
    body: proposals.ProposalCreate, user: StaffUser, session: SessionDep, request: Request, idem: IdempotencyDep
) -> JSONResponse:
    settings = request.app.state.settings

    async def make() -> proposal_doc.PricedProposal:
        lease = await proposals.create_proposal(session, user, body, default_hold=settings.proposal_hold)
        return await _priced(session, lease, request)

    return await idem.run(session, str(user.subject), body, make)


@router.get(
    "/v1/proposals",
    response_model=Page[proposal_doc.PricedProposal],
    summary="List proposals",
    description="Roles: staff (all clients, filter `client_id`); a client user sees its own client's only. "
    "`open_only=true` keeps those still waiting for an answer.",
)
async def list_proposals(
    request: Request,
    user: TenantReader,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    open_only: bool = False,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[proposal_doc.PricedProposal]:
    if user.is_client:
        if client_id is not None and client_id != user.client_id:
            return Page(items=[])
        client_id = user.client_id
    rows, nxt = await proposals.proposal_page(session, client_id=client_id, open_only=open_only, cursor=cursor, limit=limit)
    return Page(items=[await _priced(session, r, request) for r in rows], next_cursor=nxt)


@router.get(
    "/v1/proposals/{proposal_id}",
    response_model=proposal_doc.PricedProposal,
    summary="A proposal with its price",
    description="Roles: staff; a client user its own client's (another client's is 404). "
    "`state` is open, accepted, lapsed (expired unanswered: its seats released) or withdrawn.",
)
async def get_proposal(
    proposal_id: uuid.UUID, user: TenantReader, session: SessionDep, request: Request
) -> proposal_doc.PricedProposal:
    return await _priced(session, await _load(session, proposal_id, user), request)


@router.get(
    "/v1/proposals/{proposal_id}/pdf",
    response_class=Response,
    responses={200: {"content": PDF_CONTENT, "description": "the proposal as a PDF"}},
    summary="The proposal as a PDF, to send to the client",
    description="Roles: staff; a client user its own client's (another client's is 404).",
)
async def proposal_pdf(proposal_id: uuid.UUID, user: TenantReader, session: SessionDep, request: Request) -> Response:
    lease = await _load(session, proposal_id, user)
    pdf = await proposal_doc.proposal_pdf(session, await _priced(session, lease, request))
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="proposal-{lease.id}.pdf"'}
    )


# --- email: send a proposal ---
@router.post(
    "/v1/proposals/{proposal_id}/send",
    status_code=202,
    response_model=proposal_mail.ProposalSent,
    responses={409: {"description": "the proposal is not open"}},
    summary="Send a proposal to the client by email, its PDF attached",
    description="""Roles: admin, facility_staff. A client user gets **404** for another client's proposal
(it does not exist for them) and **403** for its own.

Queues an email with the proposal's PDF (the document of `GET /v1/proposals/{id}/pdf`) attached, to
`to` (1 to 20 addresses; default the client's `billing_email`), with `message` above the proposal's
summary. **202**: the message is queued in this request's transaction and the worker hands it to the
SMTP server (`email.status` pending, then sent, or failed after its retries); with no
SEATLEASE_SMTP_HOST it stays pending. Audited `lease.proposal_sent`. Only an open proposal is sent
(**409** `invalid-state`). A bad address is **422** naming `to`. With an `Idempotency-Key` a repeated
request queues nothing more and answers as the first did. The proposal's `emails` show each send.""",
)
async def send_proposal(
    proposal_id: uuid.UUID,
    user: TenantReader,
    session: SessionDep,
    request: Request,
    idem: IdempotencyDep,
    body: proposal_mail.ProposalSend | None = None,
) -> JSONResponse:
    req = body or proposal_mail.ProposalSend()
    threshold = request.app.state.settings.discount_approval_threshold_pct

    async def send() -> proposal_mail.ProposalSent:
        lease = await _load(session, proposal_id, user, for_update=True)  # the tenant's 404 first
        if user.role not in (Role.ADMIN, Role.FACILITY_STAFF):
            raise Forbidden("staff send proposals (roles: admin, facility_staff)")
        return await proposal_mail.send_proposal(session, user, lease, req, discount_threshold_pct=threshold)

    return await idem.run(session, str(user.subject), req, send, status_code=202)


# --- end email ---


@router.post(
    "/v1/proposals/{proposal_id}/accept",
    response_model=proposal_doc.PricedProposal,
    summary="The client accepts a proposal",
    description="""Roles: client_admin (or the client's machine client) of the proposal's client only: another
client's proposal is **404**, staff and client_viewer are **403**.

The proposal becomes a confirmed lease (`lease.status`; active at once if its start has come) with
exactly the seats it held: the same lease, the same seat rows. A discount above the approval
threshold waits for finance approval (`pending_approval`). **409** `invalid-state` when it is not
open (accepted, withdrawn, or lapsed at its `expires_at`).""",
)
async def accept_proposal(
    proposal_id: uuid.UUID, user: ClientWriter, session: SessionDep, request: Request
) -> proposal_doc.PricedProposal:
    lease = await _load(session, proposal_id, user, for_update=True)
    if not user.is_client:
        raise Forbidden("the client accepts its proposal; staff withdraw or propose again")
    settings = request.app.state.settings
    await proposals.accept_proposal(
        session,
        user,
        lease,
        discount_threshold_pct=settings.discount_approval_threshold_pct,
        pending_hold=settings.pending_hold,
    )
    return await _priced(session, lease, request)


@router.post(
    "/v1/proposals/{proposal_id}/withdraw",
    response_model=proposal_doc.PricedProposal,
    summary="Withdraw an open proposal",
    description="Roles: admin, facility_staff. Its seats are released at once; **409** when it is not open.",
)
async def withdraw_proposal(
    proposal_id: uuid.UUID, user: StaffUser, session: SessionDep, request: Request
) -> proposal_doc.PricedProposal:
    lease = await _load(session, proposal_id, user, for_update=True)
    await proposals.withdraw_proposal(session, user, lease)
    return await _priced(session, lease, request)


@router.post(
    "/v1/quotes",
    response_model=QuoteOut,
    summary="Price a lease without booking it",
    description="""Roles: admin, facility_staff, client_admin (and a client's machine clients) for their own client
(another client's is 404), as for `POST /v1/leases`, with the same body and the same checks:
`discount_pct` is for staff only (**403** otherwise), the seats must be free now (**422** naming
`seat_count` or `seat_ids`), and a client's lease may not start in the past (**422** `start_date`).

Nothing is written. The answer is billing's own computation: the first invoice line by line (prorated
seats, add-ons, discount, setup fee, deposit, tax per line), then a full month (`full_month`, null when
the lease ends before the next month) -- the numbers the admin's booking preview shows.""",
)
async def create_quote(body: LeaseCreate, user: ClientWriter, session: SessionDep, request: Request) -> QuoteOut:
    body = body.model_copy(update={"client_id": user.client_for(body.client_id)})  # a client's own by default
    if not user.is_staff and "discount_pct" in body.model_fields_set:
        raise Forbidden("a discount is a commercial term that only staff set; leave discount_pct out", field="discount_pct")
    settings = request.app.state.settings
    return await quote_booking(
        session, body, discount_threshold_pct=settings.discount_approval_threshold_pct, is_staff=user.is_staff
    )
