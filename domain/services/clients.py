"""Clients (tenants), their logins, teams and members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import Conflict, InvalidState, ValidationFailed
from domain.models import Client, Lease, Member, SeatAssignment, Site, Team, User
from domain.models.lease import LIVE_LEASE_STATUSES
from domain.services.audit import Actor, record, snapshot
from domain.services.client_schemas import ClientCreate, ClientUpdate, MemberCreate, TeamCreate
from domain.services.lookup import get_or_404
from domain.services.paging import keyset_page


async def get_client(session: AsyncSession, client_id: uuid.UUID, *, for_update: bool = False) -> Client:
    return await get_or_404(session, Client, client_id, "client", for_update=for_update)


async def create_client(session: AsyncSession, actor: Actor, body: ClientCreate) -> Client:
    client = Client(**body.model_dump())
    session.add(client)
    await session.flush()
    await record(session, actor, "client.create", "client", client.id, after=snapshot(client), client_id=client.id)
    return client


# fields that may be cleared with null (back to the default): the others are required on a client
NULLABLE_CLIENT_FIELDS = frozenset({"seat_cap"})


async def update_client(session: AsyncSession, actor: Actor, client: Client, body: ClientUpdate) -> Client:
    """Staff change a client's details or its seat cap (``seat_cap`` None = the default cap); audited.
    Only the fields given change."""
    changes = body.model_dump(exclude_unset=True)
    for k, v in changes.items():
        if v is None and k not in NULLABLE_CLIENT_FIELDS:
            raise ValidationFailed(f"{k} cannot be null", field=k)
    before = snapshot(client)
    for k, v in changes.items():
        setattr(client, k, v)
    _check_tax_treatment(client, changes)
    await session.flush()
    await record(session, actor, "client.update", "client", client.id, before=before, after=snapshot(client), client_id=client.id)
    return client


# --- tax treatment (issue 12) ---
def _check_tax_treatment(client: Client, changes: dict[str, object]) -> None:
    """A zero-rated or exempt client carries why (e.g. PEZA-registered) and its certificate's reference;
    a standard one carries neither (what it said of an exemption no longer holds)."""
    if client.tax_treatment == "standard":
        client.tax_exemption_reason = ""
        client.tax_certificate_ref = ""
        return
    client.tax_exemption_reason = client.tax_exemption_reason.strip()
    client.tax_certificate_ref = client.tax_certificate_ref.strip()
    for field, what in (("tax_exemption_reason", "the reason"), ("tax_certificate_ref", "the certificate reference")):
        if not getattr(client, field):
            kind = client.tax_treatment.replace("_", "-")
            raise ValidationFailed(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} client needs {what}", field=field)


async def create_user(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    password_hash: str,
    role: str,
    client_id: uuid.UUID | None,
    password_change: str | None = None,
) -> User:
    """A login in its namespace: staff (no client) or one tenant. An email is unique only within its
    namespace, so whether staff or another tenant use it changes nothing here (no enumeration);
    the password login tells accounts sharing an email apart by their passwords."""
    email = email.lower()
    namespace = User.client_id.is_(None) if client_id is None else User.client_id == client_id
    if await session.scalar(select(User.id).where(User.email == email, namespace)):
        raise Conflict("a login with this email exists", field="email")
    user = User(email=email, password_hash=password_hash, role=role, client_id=client_id, password_change=password_change)
    session.add(user)
    await session.flush()
    await record(session, actor, "user.create", "user", user.id, after=snapshot(user), client_id=client_id)
    return user


async def create_team(session: AsyncSession, actor: Actor, client: Client, body: TeamCreate) -> Team:
    name = body.name
    if await session.scalar(select(Team.id).where(Team.client_id == client.id, Team.name == name)):
        raise Conflict("a team with this name exists", field="name")
    team = Team(client_id=client.id, name=name)
    session.add(team)
    await session.flush()
    await record(session, actor, "team.create", "team", team.id, after=snapshot(team), client_id=client.id)
    return team


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    return await get_or_404(session, Team, team_id, "team")


async def create_member(session: AsyncSession, actor: Actor, team: Team, body: MemberCreate) -> Member:
    data = body.model_dump()
    email = data["email"].lower()
    if await session.scalar(select(Member.id).where(Member.client_id == team.client_id, Member.email == email)):
        raise Conflict("a member with this email exists for this client", field="email")
    member = Member(client_id=team.client_id, team_id=team.id, **{**data, "email": email})
    session.add(member)
    await session.flush()
    await record(session, actor, "member.create", "member", member.id, after=snapshot(member), client_id=team.client_id)
    return member


async def get_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    return await get_or_404(session, Member, member_id, "member")


async def remove_member(session: AsyncSession, actor: Actor, member: Member, now: datetime) -> Member:
    """Deactivate a member and drop their seat assignments; provisioning revokes their access.

    A member already removed is a 409 (the API and the admin give the same answer), and nothing
    is written or announced again. The reconciler is woken once, when this transaction commits."""
    if not member.active:
        raise InvalidState("member already removed")
    before = snapshot(member)
    member.active = False
    member.removed_at = now
    await session.execute(delete(SeatAssignment).where(SeatAssignment.member_id == member.id))
    await session.flush()
    await record(
        session, actor, "member.remove", "member", member.id, before=before, after=snapshot(member), client_id=member.client_id
    )
    await events.leases_changed(session)
    return member


# ---- read-models ------------------------------------------------------------------------------


async def list_clients(
    session: AsyncSession, *, tenant: uuid.UUID | None, cursor: str | None, limit: int
) -> tuple[list[Client], str | None]:
    """A page of clients; a tenant's principal (``tenant`` set) sees only its own."""
    stmt = select(Client)
    if tenant is not None:
        stmt = stmt.where(Client.id == tenant)
    return await keyset_page(session, stmt, Client.id, cursor, limit)


async def list_teams(session: AsyncSession, client_id: uuid.UUID) -> list[Team]:
    return list((await session.scalars(select(Team).where(Team.client_id == client_id).order_by(Team.name))).all())


async def list_members(
    session: AsyncSession, team_id: uuid.UUID, *, cursor: str | None, limit: int
) -> tuple[list[Member], str | None]:
    return await keyset_page(session, select(Member).where(Member.team_id == team_id), Member.id, cursor, limit)


async def client_members(session: AsyncSession, client_id: uuid.UUID) -> list[Member]:
    """Every member of a client, active first, by name."""
    stmt = select(Member).where(Member.client_id == client_id).order_by(Member.active.desc(), Member.name)
    return list((await session.scalars(stmt)).all())


class ClientSummary(NamedTuple):
    """A row of the clients list: the client, its live leases and its active members."""

    client: Client
    leases: int
    members: int


async def client_summaries(session: AsyncSession, q: str | None, *, limit: int = 300) -> list[ClientSummary]:
    """Clients by legal name (``q``: a part of it, case-blind), with their counts."""
    live = select(func.count()).where(Lease.client_id == Client.id, Lease.status.in_(LIVE_LEASE_STATUSES)).scalar_subquery()
    members = select(func.count()).where(Member.client_id == Client.id, Member.active.is_(True)).scalar_subquery()
    stmt = select(Client, live.label("leases"), members.label("members")).order_by(Client.legal_name)
    if q:
        stmt = stmt.where(Client.legal_name.ilike(f"%{q.replace('%', '')}%"))
    return [ClientSummary(*row) for row in (await session.execute(stmt.limit(limit))).all()]


class ClientLease(NamedTuple):
    lease: Lease
    site_code: str


async def client_leases(session: AsyncSession, client_id: uuid.UUID, *, limit: int = 100) -> list[ClientLease]:
    """A client's leases, latest start first, with their site's code."""
    stmt = (
        select(Lease, Site.code)
        .join(Site, Site.id == Lease.site_id)
        .where(Lease.client_id == client_id)
        .order_by(Lease.start_date.desc())
        .limit(limit)
    )
    return [ClientLease(*row) for row in (await session.execute(stmt)).all()]
