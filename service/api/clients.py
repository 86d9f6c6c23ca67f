"""Plans, clients, client users, teams and members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from domain.services import catalog, clients
from service.api import schemas as s
from service.api.deps import Cursor, Limit
from service.auth import AnyUser, ClientWriter, StaffUser, TenantReader, hash_secret
from service.db import SessionDep
from service.idempotency import IdempotencyDep

router = APIRouter(prefix="/v1", tags=["clients"])


def _plan_out(plans: list[catalog.PlanView]) -> list[s.Plan]:
    return [
        s.Plan(
            id=v.plan.id,
            site_id=v.plan.site_id,
            name=v.plan.name,
            currency=v.currency,
            monthly_price_minor=v.plan.monthly_price_minor,
            setup_fee_minor=v.plan.setup_fee_minor,
            deposit_months=v.plan.deposit_months,
            inclusions=[s.Inclusion.model_validate(i) for i in v.inclusions],
        )
        for v in plans
    ]


@router.post("/plans", status_code=201, response_model=s.Plan)
async def create_plan(body: s.PlanCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    site = await catalog.site_for(session, body.site_id)

    async def make() -> s.Plan:
        plan = await catalog.create_plan(session, user, site, body.model_dump())
        return _plan_out(await catalog.plan_views(session, [plan]))[0]

    return await idem.run(session, str(user.subject), body, make)


@router.get("/plans", response_model=s.Page[s.Plan])
async def list_plans(
    user: AnyUser, session: SessionDep, site_id: uuid.UUID | None = None, cursor: Cursor = None, limit: Limit = 100
) -> s.Page[s.Plan]:
    rows, nxt = await catalog.list_plans(session, site_id=site_id, cursor=cursor, limit=limit)
    return s.Page(items=_plan_out(rows), next_cursor=nxt)


@router.get("/plans/{plan_id}", response_model=s.Plan)
async def get_plan(plan_id: uuid.UUID, user: AnyUser, session: SessionDep) -> s.Plan:
    return _plan_out(await catalog.plan_views(session, [await catalog.get_plan(session, plan_id)]))[0]


@router.post("/clients", status_code=201, response_model=s.Client)
async def create_client(body: s.ClientCreate, user: StaffUser, session: SessionDep, idem: IdempotencyDep) -> JSONResponse:
    async def make() -> s.Client:
        return s.Client.model_validate(await clients.create_client(session, user, body.model_dump()))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/clients", response_model=s.Page[s.Client])
async def list_clients(user: TenantReader, session: SessionDep, cursor: Cursor = None, limit: Limit = 100) -> s.Page[s.Client]:
    tenant = user.client_id if user.is_client else None
    rows, nxt = await clients.list_clients(session, tenant=tenant, cursor=cursor, limit=limit)
    return s.Page(items=[s.Client.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/clients/{client_id}", response_model=s.Client)
async def get_client(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> s.Client:
    user.require_client(client_id, "client")
    return s.Client.model_validate(await clients.get_client(session, client_id))


@router.patch("/clients/{client_id}", response_model=s.Client)
async def update_client(client_id: uuid.UUID, body: s.ClientUpdate, user: StaffUser, session: SessionDep) -> s.Client:
    """Staff only: change a client's details, or its `seat_cap` (the most seats its own bookings may
    hold; `null` restores the default of the setting SEATLEASE_CLIENT_SEAT_CAP). Audited."""
    client = await clients.get_client(session, client_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    return s.Client.model_validate(await clients.update_client(session, user, client, changes))


@router.post("/clients/{client_id}/users", status_code=201, response_model=s.User)
async def create_client_user(
    client_id: uuid.UUID,
    body: s.ClientUserCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    user.require_client(client_id, "client")
    client = await clients.get_client(session, client_id)

    async def make() -> s.User:
        password_hash = await run_in_threadpool(hash_secret, body.password)
        row = await clients.create_user(
            session, user, email=body.email, password_hash=password_hash, role=body.role, client_id=client.id
        )
        return s.User.model_validate(row)

    # the password never reaches the idempotency store: only its presence is hashed in
    return await idem.run(session, str(user.subject), body.model_dump(exclude={"password"}), make)


@router.post("/clients/{client_id}/teams", status_code=201, response_model=s.Team)
async def create_team(
    client_id: uuid.UUID,
    body: s.TeamCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    user.require_client(client_id, "client")
    client = await clients.get_client(session, client_id)

    async def make() -> s.Team:
        return s.Team.model_validate(await clients.create_team(session, user, client, body.name))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/clients/{client_id}/teams", response_model=s.Page[s.Team])
async def list_teams(client_id: uuid.UUID, user: TenantReader, session: SessionDep) -> s.Page[s.Team]:
    user.require_client(client_id, "client")
    await clients.get_client(session, client_id)
    return s.Page(items=[s.Team.model_validate(r) for r in await clients.list_teams(session, client_id)])


@router.post("/teams/{team_id}/members", status_code=201, response_model=s.Member)
async def create_member(
    team_id: uuid.UUID,
    body: s.MemberCreate,
    user: ClientWriter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    team = await clients.get_team(session, team_id)
    user.require_client(team.client_id, "team")

    async def make() -> s.Member:
        return s.Member.model_validate(await clients.create_member(session, user, team, body.model_dump()))

    return await idem.run(session, str(user.subject), body, make)


@router.get("/teams/{team_id}/members", response_model=s.Page[s.Member])
async def list_members(
    team_id: uuid.UUID, user: TenantReader, session: SessionDep, cursor: Cursor = None, limit: Limit = 500
) -> s.Page[s.Member]:
    team = await clients.get_team(session, team_id)
    user.require_client(team.client_id, "team")
    rows, nxt = await clients.list_members(session, team_id, cursor=cursor, limit=limit)
    return s.Page(items=[s.Member.model_validate(r) for r in rows], next_cursor=nxt)


@router.delete("/members/{member_id}", response_model=s.Member)
async def remove_member(member_id: uuid.UUID, user: ClientWriter, session: SessionDep) -> s.Member:
    """Deactivate a member: their seat assignments go and their access is revoked (409 when the
    member is already removed)."""
    member = await clients.get_member(session, member_id)
    user.require_client(member.client_id, "member")
    return s.Member.model_validate(await clients.remove_member(session, user, member, datetime.now(UTC)))
