"""Clients (tenants), their logins, teams and members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, ValidationFailed
from domain.models import Client, Member, Team, User
from domain.services.audit import Actor, record, snapshot
from domain.services.lookup import get_or_404


async def get_client(session: AsyncSession, client_id: uuid.UUID) -> Client:
    return await get_or_404(session, Client, client_id, "client")


async def create_client(session: AsyncSession, actor: Actor, data: dict[str, Any]) -> Client:
    client = Client(**data)
    session.add(client)
    await session.flush()
    await record(session, actor, "client.create", "client", client.id, after=snapshot(client), client_id=client.id)
    return client


# fields that may be cleared with null (back to the default): the others are required on a client
NULLABLE_CLIENT_FIELDS = frozenset({"seat_cap"})


async def update_client(session: AsyncSession, actor: Actor, client: Client, changes: dict[str, Any]) -> Client:
    """Staff change a client's details or its seat cap (``seat_cap`` None = the default cap); audited."""
    for k, v in changes.items():
        if v is None and k not in NULLABLE_CLIENT_FIELDS:
            raise ValidationFailed(f"{k} cannot be null", field=k)
    before = snapshot(client)
    for k, v in changes.items():
        setattr(client, k, v)
    await session.flush()
    await record(session, actor, "client.update", "client", client.id, before=before, after=snapshot(client), client_id=client.id)
    return client


async def create_user(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    password_hash: str,
    role: str,
    client_id: uuid.UUID | None,
) -> User:
    """A login in its namespace: staff (no client) or one tenant. An email is unique only within its
    namespace, so whether staff or another tenant use it changes nothing here (no enumeration);
    the password login tells accounts sharing an email apart by their passwords."""
    email = email.lower()
    namespace = User.client_id.is_(None) if client_id is None else User.client_id == client_id
    if await session.scalar(select(User.id).where(User.email == email, namespace)):
        raise Conflict("a login with this email exists", field="email")
    user = User(email=email, password_hash=password_hash, role=role, client_id=client_id)
    session.add(user)
    await session.flush()
    await record(session, actor, "user.create", "user", user.id, after=snapshot(user), client_id=client_id)
    return user


async def create_team(session: AsyncSession, actor: Actor, client: Client, name: str) -> Team:
    if await session.scalar(select(Team.id).where(Team.client_id == client.id, Team.name == name)):
        raise Conflict("a team with this name exists", field="name")
    team = Team(client_id=client.id, name=name)
    session.add(team)
    await session.flush()
    await record(session, actor, "team.create", "team", team.id, after=snapshot(team), client_id=client.id)
    return team


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    return await get_or_404(session, Team, team_id, "team")


async def create_member(session: AsyncSession, actor: Actor, team: Team, data: dict[str, Any]) -> Member:
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
    """Deactivate a member and drop their seat assignments; provisioning revokes their access."""
    from domain.models import SeatAssignment  # local: keeps this module's imports small

    before = snapshot(member)
    member.active = False
    member.removed_at = now
    await session.execute(delete(SeatAssignment).where(SeatAssignment.member_id == member.id))
    await session.flush()
    await record(
        session, actor, "member.remove", "member", member.id, before=before, after=snapshot(member), client_id=member.client_id
    )
    return member
