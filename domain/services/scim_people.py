"""The client's identity provider drives its agents and teams (issue 14): the use-cases behind the
client's SCIM endpoint. SCIM Users are the client's agents (members), Groups its teams.

Every change is audited with the SCIM token as the actor (``ScimActor``). Deactivating or deleting
an agent goes through ``clients.remove_member`` — the same use-case the API and the admin use: it
drops the agent's seat assignments, audits and wakes the reconciler, which revokes every facility
credential — and records a ``ScimDeprovision`` with the call's instant, so the time until the last
credential is cut is measured (provisioning/deprovisions.py). A member belongs to exactly one team:
joining a group moves the agent there; leaving every group parks it in the client's holding team,
which is not a SCIM group. A deleted agent keeps its row (its credentials and audit trail name it)
and is gone from the endpoint.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound, ValidationFailed
from domain.models import Member, ScimDeprovision, Team
from domain.services import clients
from domain.services.audit import record, snapshot

HOLDING_TEAM = "Unassigned (identity provider)"


class ScimActor:
    """A client's identity provider, speaking with the client's SCIM token."""

    def __init__(self, client_id: uuid.UUID) -> None:
        self.subject = client_id
        self.label = f"scim:{client_id}"


@dataclass
class AgentFields:
    user_name: str
    name: str
    email: str
    # None: the request carries no `active` (removed, or left out of a PUT): the agent stays as it is
    active: bool | None = True
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


# ---- reads ------------------------------------------------------------------------------------


async def list_agents(session: AsyncSession, client_id: uuid.UUID, *, where: tuple[str, str] | None = None) -> list[Member]:
    """The client's agents; ``where`` = ("username" | "externalid", value) narrows them (any case) for
    the identity provider's usual look-up before a create, so it does not read every agent."""
    stmt = select(Member).where(Member.client_id == client_id, Member.scim_deleted_at.is_(None))
    if where is not None:
        column = func.coalesce(Member.user_name, Member.email) if where[0] == "username" else Member.external_id
        stmt = stmt.where(func.lower(column) == where[1].lower())
    return list((await session.scalars(stmt.order_by(Member.created_at, Member.id))).all())


async def get_agent(session: AsyncSession, client_id: uuid.UUID, member_id: str, *, lock: bool = False) -> Member:
    """The client's agent; another client's, a deleted one or a malformed id: 404."""
    try:
        mid = uuid.UUID(member_id)
    except ValueError:
        raise NotFound("user not found") from None
    stmt = select(Member).where(Member.id == mid, Member.client_id == client_id, Member.scim_deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    member = await session.scalar(stmt)
    if member is None:
        raise NotFound("user not found")
    return member


async def list_groups(session: AsyncSession, client_id: uuid.UUID, *, where: tuple[str, str] | None = None) -> list[Team]:
    stmt = select(Team).where(Team.client_id == client_id, Team.holding.is_(False))
    if where is not None:
        column = Team.name if where[0] == "displayname" else Team.external_id
        stmt = stmt.where(func.lower(column) == where[1].lower())
    return list((await session.scalars(stmt.order_by(Team.created_at, Team.id))).all())


async def get_group(session: AsyncSession, client_id: uuid.UUID, team_id: str, *, lock: bool = False) -> Team:
    try:
        tid = uuid.UUID(team_id)
    except ValueError:
        raise NotFound("group not found") from None
    stmt = select(Team).where(Team.id == tid, Team.client_id == client_id, Team.holding.is_(False))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    team = await session.scalar(stmt)
    if team is None:
        raise NotFound("group not found")
    return team


async def group_members(session: AsyncSession, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Member]]:
    out: dict[uuid.UUID, list[Member]] = {t: [] for t in team_ids}
    if team_ids:
        stmt = (
            select(Member)
            .where(Member.team_id.in_(team_ids), Member.scim_deleted_at.is_(None))
            .order_by(Member.created_at, Member.id)
        )
        for m in (await session.scalars(stmt)).all():
            out[m.team_id].append(m)
    return out


async def teams_of(session: AsyncSession, team_ids: set[uuid.UUID]) -> dict[uuid.UUID, Team]:
    if not team_ids:
        return {}
    return {t.id: t for t in (await session.scalars(select(Team).where(Team.id.in_(team_ids)))).all()}


# ---- agents -----------------------------------------------------------------------------------


async def _holding_team(session: AsyncSession, client_id: uuid.UUID) -> Team:
    stmt = select(Team).where(Team.client_id == client_id, Team.holding.is_(True), Team.name == HOLDING_TEAM)
    team = await session.scalar(stmt)
    if team is None:
        # two first calls at once: the second waits on the unique (client, name), then finds the first's
        await session.execute(
            pg_insert(Team)
            .values(id=uuid.uuid4(), client_id=client_id, name=HOLDING_TEAM, holding=True)
            .on_conflict_do_nothing(index_elements=["client_id", "name"])
        )
        team = await session.scalar(stmt)
        assert team is not None
    return team


async def _check_unique(session: AsyncSession, client_id: uuid.UUID, f: AgentFields, member_id: uuid.UUID | None) -> None:
    taken = await session.scalar(
        select(Member.id).where(
            Member.client_id == client_id,
            Member.scim_deleted_at.is_(None),
            func.lower(func.coalesce(Member.user_name, Member.email)) == f.user_name.lower(),
            Member.id != (member_id or uuid.UUID(int=0)),
        )
    )
    if taken:
        raise Conflict("this userName is taken in this client", field="userName")
    clash = await session.scalar(
        select(Member.id).where(
            Member.client_id == client_id,
            Member.email == f.email.lower(),
            Member.scim_deleted_at.is_(None),
            Member.id != (member_id or uuid.UUID(int=0)),
        )
    )
    if clash:
        raise Conflict("an agent with this email exists for this client", field="emails")


def _check_fields(f: AgentFields) -> None:
    if not f.user_name.strip():
        raise ValidationFailed("userName is required", field="userName")
    if len(f.user_name) > 320 or len(f.email) > 320:
        raise ValidationFailed("userName and emails are at most 320 characters", field="userName")
    if f.external_id is not None and len(f.external_id) > 200:
        raise ValidationFailed("externalId is at most 200 characters", field="externalId")


def _apply(member: Member, f: AgentFields, now: datetime) -> None:
    member.user_name = f.user_name
    member.name = (f.name or f.user_name)[:200]
    member.email = f.email.lower()
    member.external_id = f.external_id
    member.scim_attributes = f.attributes
    member.updated_at = now


async def create_agent(session: AsyncSession, actor: ScimActor, client_id: uuid.UUID, f: AgentFields, now: datetime) -> Member:
    _check_fields(f)
    await _check_unique(session, client_id, f, None)
    team = await _holding_team(session, client_id)
    active = f.active is not False
    if f.active is None:  # a new agent is active unless it says otherwise, and reads so
        f.attributes = {**f.attributes, "active": True}
    member = Member(client_id=client_id, team_id=team.id, name="", email="", active=active)
    _apply(member, f, now)
    if not active:
        member.removed_at = now
    session.add(member)
    await session.flush()
    await record(session, actor, "scim.user_create", "member", member.id, after=snapshot(member), client_id=client_id)
    return member


async def update_agent(session: AsyncSession, actor: ScimActor, member: Member, f: AgentFields, now: datetime) -> Member:
    """Replace the agent's attributes; ``active`` going false deprovisions it (once: a second
    deactivation finds it inactive under the row lock the caller took, and changes nothing)."""
    _check_fields(f)
    await _check_unique(session, member.client_id, f, member.id)
    before, was_updated = snapshot(member), member.updated_at
    _apply(member, f, now)
    changed = {k: v for k, v in snapshot(member).items() if before.get(k) != v and k != "updated_at"}
    if f.active is not None and f.active != member.active:
        if f.active:
            member.active, member.removed_at = True, None  # back on staff: seats are assigned anew
        else:
            await _deprovision(session, actor, member, "deactivate", now)
    elif not changed:
        member.updated_at = was_updated  # a replay of the same state: nothing written, nothing audited
        return member
    await session.flush()
    await record(
        session, actor, "scim.user_update", "member", member.id, before=before, after=snapshot(member), client_id=member.client_id
    )
    return member


async def delete_agent(session: AsyncSession, actor: ScimActor, member: Member, now: datetime) -> None:
    before = snapshot(member)
    if member.active:
        await _deprovision(session, actor, member, "delete", now)
    member.scim_deleted_at = now
    member.updated_at = now
    await session.flush()
    await record(
        session, actor, "scim.user_delete", "member", member.id, before=before, after=snapshot(member), client_id=member.client_id
    )


async def _deprovision(session: AsyncSession, actor: ScimActor, member: Member, kind: str, now: datetime) -> None:
    """The existing removal (seats dropped, audit, reconciler woken), plus the KPI's start."""
    from domain.models import Credential

    held = await session.scalar(
        select(func.count()).where(
            Credential.member_id == member.id,
            Credential.disabled_at.is_(None),
            Credential.state != "revoked",
            or_(Credential.first_granted_at.is_not(None), Credential.external_id.is_not(None), Credential.desired),
        )
    )
    await clients.remove_member(session, actor, member, now)
    session.add(
        ScimDeprovision(client_id=member.client_id, member_id=member.id, kind=kind, requested_at=now, credentials=int(held or 0))
    )


# ---- groups -----------------------------------------------------------------------------------


async def _check_group(session: AsyncSession, client_id: uuid.UUID, name: str, team_id: uuid.UUID | None) -> None:
    if not name.strip() or len(name) > 200:
        raise ValidationFailed("displayName is required, at most 200 characters", field="displayName")
    taken = await session.scalar(
        select(Team.id).where(Team.client_id == client_id, Team.name == name, Team.id != (team_id or uuid.UUID(int=0)))
    )
    if taken:
        raise Conflict("a team with this displayName exists", field="displayName")


async def _set_members(session: AsyncSession, team: Team, member_ids: list[str]) -> tuple[list[str], list[str]]:
    """The group's members become exactly these agents (each moved from its previous team);
    agents no longer listed go to the holding team. Returns (added, removed)."""
    wanted = [await get_agent(session, team.client_id, m) for m in dict.fromkeys(member_ids)]
    current = (await group_members(session, [team.id]))[team.id]
    added = [m for m in wanted if m.team_id != team.id]
    keep = {m.id for m in wanted}
    removed = [m for m in current if m.id not in keep]
    if added:
        await session.execute(
            update(Member)
            .where(Member.id.in_([m.id for m in added]))
            .values(team_id=team.id)
            .execution_options(synchronize_session="fetch")
        )
    if removed:
        holding = await _holding_team(session, team.client_id)
        await session.execute(
            update(Member)
            .where(Member.id.in_([m.id for m in removed]))
            .values(team_id=holding.id)
            .execution_options(synchronize_session="fetch")
        )
    return [str(m.id) for m in added], [str(m.id) for m in removed]


@dataclass
class GroupFields:
    name: str
    external_id: str | None
    member_ids: list[str]
    # the display names the identity provider gave the members, by member id
    displays: dict[str, str] = field(default_factory=dict)


async def create_group(session: AsyncSession, actor: ScimActor, client_id: uuid.UUID, g: GroupFields) -> Team:
    name, external_id, member_ids = g.name, g.external_id, g.member_ids
    await _check_group(session, client_id, name, None)
    team = Team(client_id=client_id, name=name, external_id=external_id, scim_attributes={"displays": g.displays})
    session.add(team)
    await session.flush()
    added, _ = await _set_members(session, team, member_ids)
    await record(
        session,
        actor,
        "scim.group_create",
        "team",
        team.id,
        after={**snapshot(team), "members_added": added},
        client_id=client_id,
    )
    return team


async def update_group(session: AsyncSession, actor: ScimActor, team: Team, g: GroupFields) -> Team:
    name, external_id, member_ids = g.name, g.external_id, g.member_ids
    await _check_group(session, team.client_id, name, team.id)
    before = snapshot(team)
    team.name, team.external_id, team.scim_attributes = name, external_id, {"displays": g.displays}
    await session.flush()
    added, removed = await _set_members(session, team, member_ids)
    if snapshot(team) != before or added or removed:
        after = {**snapshot(team), "members_added": added, "members_removed": removed}
        await record(session, actor, "scim.group_update", "team", team.id, before=before, after=after, client_id=team.client_id)
    return team


async def delete_group(session: AsyncSession, actor: ScimActor, team: Team) -> None:
    """The team goes; its agents stay (in the holding team) and keep their seats. A team that
    booked leases stays as the leases' team, only without its members (409 otherwise would block
    the identity provider for good): it is emptied and no longer a SCIM group."""
    from domain.models import Lease

    before, client_id, team_id = snapshot(team), team.client_id, team.id
    _, removed = await _set_members(session, team, [])
    if await session.scalar(select(Lease.id).where(Lease.team_id == team.id).limit(1)):
        team.holding = True  # hidden from the endpoint, kept for its leases
        team.name = f"{team.name} (removed {team.id.hex[:8]})"[:200]
        await session.flush()
    else:
        await session.delete(team)
        await session.flush()
    after = {"members_removed": removed}
    await record(session, actor, "scim.group_delete", "team", team_id, before=before, after=after, client_id=client_id)


async def recent_deprovisions(
    session: AsyncSession, client_id: uuid.UUID, *, limit: int = 20
) -> list[tuple[ScimDeprovision, str]]:
    """The client's latest deprovisions with the agent's name (the portal's identity-provider page)."""
    stmt = (
        select(ScimDeprovision, Member.name)
        .join(Member, Member.id == ScimDeprovision.member_id)
        .where(ScimDeprovision.client_id == client_id)
        .order_by(ScimDeprovision.requested_at.desc())
        .limit(limit)
    )
    return [(d, name) for d, name in (await session.execute(stmt)).tuples().all()]
