"""Plans, clients, client users, teams and members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from domain.errors import Forbidden
from domain.models.user import Role
from domain.schemas import Page
from domain.services import catalog, clients
from domain.services.catalog_schemas import Plan, PlanCreate
from domain.services.client_schemas import (
    FINANCE_CLIENT_FIELDS,
    FINANCE_ONLY_CLIENT_FIELDS,
    Client,
    ClientCreate,
    ClientUpdate,
    ClientUserCreate,
    Member,
    MemberCreate,
    Team,
    TeamCreate,
    User,
)
from service.api.deps import Cursor, Limit
from service.auth import AnyUser, ClientWriter, Principal, StaffOrFinance, StaffUser, TenantReader, hash_secret
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["clients"])


# --- issue 12: what finance may change on a client, and what only finance and admins may ---
def _finance_fields_only(user: Principal, body: ClientUpdate) -> None:
    given = set(body.model_fields_set)
    if user.role == Role.FINANCE:
        other = sorted(given - FINANCE_CLIENT_FIELDS)
        if other:
            raise Forbidden(f"finance changes only {', '.join(sorted(FINANCE_CLIENT_FIELDS))}", field=other[0])
    elif user.role == Role.FACILITY_STAFF and given & FINANCE_ONLY_CLIENT_FIELDS:
        field = sorted(given & FINANCE_ONLY_CLIENT_FIELDS)[0]
        raise Forbidden(f"a client's {field} is set by finance", field=field)


# --- end collections ---


@router.post("/plans", status_code=201, response_model=Plan)
async def create_plan(body: PlanCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    """A seat plan of a site: monthly price, set-up fee, deposit months (integer minor units in the site's
    currency) and what each seat includes (power, internet, devices) or adds on. Audited."""
    site = await catalog.site_for(session, body.site_id)

    async def make() -> Plan:
        plan = await catalog.create_plan(session, user, site, body)
        (view,) = await catalog.plan_views(session, [plan])
        return Plan.model_validate(view)

    return await idem.run(session, str(user.subject), body, make)


@router.get("/plans", response_model=Page[Plan])
async def list_plans(
    user: AnyUser, session: SessionDep, site_id: uuid.UUID | None = None, cursor: Cursor = None, limit: Limit = 100
) -> Page[Plan]:
    """Plans, optionally of one site, with their inclusions and add-ons. Paged by id."""
    rows, nxt = await catalog.list_plans(session, site_id=site_id, cursor=cursor, limit=limit)
    return Page(items=[Plan.model_validate(v) for v in rows], next_cursor=nxt)


@router.get("/plans/{plan_id}", response_model=Plan)
async def get_plan(plan_id: uuid.UUID, user: AnyUser, session: SessionDep) -> Plan:
    """One plan with its inclusions, add-ons and prices. 404 for an unknown id."""
    (view,) = await catalog.plan_views(session, [await catalog.get_plan(session, plan_id)])
    return Plan.model_validate(view)


@router.post("/clients", status_code=201, response_model=Client)
async def create_client(body: ClientCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    """A BPO client company: legal name, billing email, tax id, payment terms. Audited."""

    async def make() -> Client:
        return Client.model_validate(await clients.create_client(session, user, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/clients", response_model=Page[Client])
async def list_clients(user: TenantReader, session: SessionDep, cursor: Cursor = None, limit: Limit = 100) -> Page[Client]:
    """Clients: staff see every client; a client's own users see only their own. Paged by id."""
    tenant = user.client_id if user.is_client else None
    rows, nxt = await clients.list_clients(session, tenant=tenant, cursor=cursor, limit=limit)
    return Page(items=[Client.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/clients/{client_id}", response_model=Client)
async def get_client(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Client:
    """One client. Another tenant's client is 404."""
    user.require_client(client_id, "client")
    return Client.model_validate(await clients.get_client(session, client_id))


@router.patch("/clients/{client_id}", response_model=Client)
async def update_client(client_id: uuid.UUID, body: ClientUpdate, user: StaffOrFinance, session: SessionDep) -> Client:
    """Change a client's details, or its `seat_cap` (the most seats its own bookings may
    hold; `null` restores the default of the setting SEATLEASE_CLIENT_SEAT_CAP). Audited.
    Roles: admin, facility_staff (every field); finance (the tax treatment only: `tax_treatment` —
    `standard` is the site's rate, `zero_rated` and `exempt` need `tax_exemption_reason` and
    `tax_certificate_ref`, e.g. a PEZA-registered client; `withholding_rate`, a decimal string below 1
    such as `"0.05"`: the share of each invoice's amount before tax the client withholds;
    `dunning_excluded`: no payment reminders — a 403 naming any other field). Facility staff may not
    change `withholding_rate` nor `dunning_excluded` (403 naming the field)."""
    _finance_fields_only(user, body)
    client = await clients.get_client(session, client_id, for_update=True)
    return Client.model_validate(await clients.update_client(session, user, client, body))


# --- withholding (issue 12, payments): who may change which client fields ---
@router.post("/clients/{client_id}/users", status_code=201, response_model=User)
async def create_client_user(
    client_id: uuid.UUID,
    body: ClientUserCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """A login for the client's own people (`client_admin` or `client_viewer`). A client admin may add users to
    its own client only (another client is 404)."""
    user.require_client(client_id, "client")
    client = await clients.get_client(session, client_id)

    async def make() -> User:
        password_hash = await run_in_threadpool(hash_secret, body.password)
        row = await clients.create_user(
            session, user, email=body.email, password_hash=password_hash, role=body.role, client_id=client.id
        )
        return User.model_validate(row)

    # the password never reaches the idempotency store: only its presence is hashed in
    return await idem.run(session, str(user.subject), body.model_dump(exclude={"password"}), make)


@router.post("/clients/{client_id}/teams", status_code=201, response_model=Team)
async def create_team(
    client_id: uuid.UUID,
    body: TeamCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """A team of the client (agents are members of a team; leases are booked for a team)."""
    user.require_client(client_id, "client")
    client = await clients.get_client(session, client_id)

    async def make() -> Team:
        return Team.model_validate(await clients.create_team(session, user, client, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/clients/{client_id}/teams", response_model=Page[Team])
async def list_teams(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> Page[Team]:
    """The client's teams. Another tenant's client is 404."""
    user.require_client(client_id, "client")
    await clients.get_client(session, client_id)
    return Page(items=[Team.model_validate(r) for r in await clients.list_teams(session, client_id)])


@router.post("/teams/{team_id}/members", status_code=201, response_model=Member)
async def create_member(
    team_id: uuid.UUID,
    body: MemberCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """An agent in a team: name, email, employee id. Their facility credentials follow their seat assignments."""
    team = await clients.get_team(session, team_id)
    user.require_client(team.client_id, "team")

    async def make() -> Member:
        return Member.model_validate(await clients.create_member(session, user, team, body))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/teams/{team_id}/members", response_model=Page[Member])
async def list_members(
    team_id: uuid.UUID, user: TenantReader, session: SessionDep, cursor: Cursor = None, limit: Limit = 500
) -> Page[Member]:
    """A team's members. Paged by id; another tenant's team is 404."""
    team = await clients.get_team(session, team_id)
    user.require_client(team.client_id, "team")
    rows, nxt = await clients.list_members(session, team_id, cursor=cursor, limit=limit)
    return Page(items=[Member.model_validate(r) for r in rows], next_cursor=nxt)


@router.delete("/members/{member_id}", response_model=Member)
async def remove_member(member_id: uuid.UUID, user: ClientWriter, session: SessionDep) -> Member:
    """Deactivate a member: their seat assignments go and their access is revoked (409 when the
    member is already removed)."""
    member = await clients.get_member(session, member_id)
    user.require_client(member.client_id, "member")
    return Member.model_validate(await clients.remove_member(session, user, member, datetime.now(UTC)))
