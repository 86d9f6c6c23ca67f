"""scim2-server's storage over the domain: every read and write is one client's, in the request's
transaction; writes go through the use-cases of domain/services/scim_people.py.

A write request (PUT, PATCH, DELETE) reads its resource under a row lock, so two identity-provider
calls on the same agent run one after the other: the second sees the first's result (two
concurrent deactivations: one deprovision, one audit event, both answered 200).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Union

from scim2_models import (
    ConflictException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.storage import AsyncScimStorage, SearchPage
from scim2_server.utils import parametrize
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from domain.services import scim_people as people
from service.scim.resources import agent_fields, group_fields, group_resource, service, user_resource


class ClientStorage(AsyncScimStorage):
    def __init__(self, session: AsyncSession, client_id: uuid.UUID, *, writing: bool) -> None:
        self.session = session
        self.client_id = client_id
        self.writing = writing
        self.actor = people.ScimActor(client_id)

    def _model(self, resource_type: ResourceType) -> type[Resource[Any]]:
        return service().get_model(resource_type)

    @asynccontextmanager
    async def operation(self) -> AsyncIterator[None]:
        """The domain's refusals as SCIM errors (RFC 7644 §3.12)."""
        try:
            yield
        except NotFound as exc:
            raise NotFoundException(detail=exc.detail) from None
        except Conflict as exc:
            raise UniquenessException(detail=exc.detail) from None
        except ValidationFailed as exc:
            raise InvalidValueException(detail=exc.detail) from None
        except DomainError as exc:
            raise ConflictException(detail=exc.detail) from None
        except IntegrityError:
            # a concurrent create took the same userName or email first
            raise UniquenessException(detail="a value that must be unique is taken") from None

    # ---- reads --------------------------------------------------------------------------------

    async def _user(self, resource_type: ResourceType, member_id: str, *, lock: bool = False) -> Resource[Any]:
        member = await people.get_agent(self.session, self.client_id, member_id, lock=lock)
        teams = await people.teams_of(self.session, {member.team_id})
        return user_resource(self._model(resource_type), member, teams.get(member.team_id))

    async def _group(self, resource_type: ResourceType, team_id: str, *, lock: bool = False) -> Resource[Any]:
        team = await people.get_group(self.session, self.client_id, team_id, lock=lock)
        members = await people.group_members(self.session, [team.id])
        return group_resource(self._model(resource_type), team, members[team.id])

    async def get(
        self, resource_type: ResourceType, resource_id: str, *, response_parameters: ResponseParameters[Any] | None = None
    ) -> Resource[Any]:
        try:
            if resource_type.name == "User":
                return await self._user(resource_type, resource_id, lock=self.writing)
            return await self._group(resource_type, resource_id, lock=self.writing)
        except NotFound as exc:
            raise NotFoundException(detail=exc.detail) from None

    @staticmethod
    def _narrowing(resource_type: ResourceType, scim_filter: ScimFilter[Any] | None) -> tuple[str, str] | None:
        """A plain ``attr eq "value"`` on an attribute the database holds, read there; the filter
        still runs on what comes back (the look-up is case-blind, so it finds a superset)."""
        node = getattr(scim_filter, "ast", None)
        if not isinstance(node, Comparison) or node.op != CompareOperator.eq or not isinstance(node.value, str):
            return None
        attr = str(node.attr_path).lower()
        held = ("username", "externalid") if resource_type.name == "User" else ("displayname", "externalid")
        return (attr, node.value) if attr in held else None

    async def _all(self, resource_type: ResourceType, scim_filter: ScimFilter[Any] | None = None) -> list[Resource[Any]]:
        model = self._model(resource_type)
        where = self._narrowing(resource_type, scim_filter)
        if resource_type.name == "User":
            members = await people.list_agents(self.session, self.client_id, where=where)
            teams = await people.teams_of(self.session, {m.team_id for m in members})
            return [user_resource(model, m, teams.get(m.team_id)) for m in members]
        groups = await people.list_groups(self.session, self.client_id, where=where)
        members_of = await people.group_members(self.session, [t.id for t in groups])
        return [group_resource(model, t, members_of[t.id]) for t in groups]

    async def search(
        self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *, position: Any = None
    ) -> SearchPage:
        """Filtered, sorted and paged in memory: a client's agents are hundreds, not millions."""
        candidates = [r for rt in resource_types for r in await self._all(rt, search_request.filter)]
        scim_filter = search_request.filter
        if scim_filter is not None and not scim_filter.models and candidates:
            models = tuple(dict.fromkeys(type(r) for r in candidates))
            scim_filter = parametrize(ScimFilter, Union[models])(str(scim_filter))  # type: ignore[arg-type] # noqa: UP007
        found = [r for r in candidates if scim_filter is None or scim_filter.match(r)]
        if search_request.sort_by is not None:
            descending = search_request.sort_order == SearchRequest.SortOrder.descending
            keyed = [(search_request.sort_value(r), r) for r in found]
            present = sorted((p for p in keyed if p[0] is not None), key=lambda p: p[0], reverse=descending)
            found = [r for _, r in present] + [r for v, r in keyed if v is None]
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(len(found), found[start:stop])

    # ---- writes -------------------------------------------------------------------------------

    @staticmethod
    def _check_version(current: Resource[Any], expected: str | None) -> None:
        if expected is not None and current.meta is not None and current.meta.version != expected:
            raise PreconditionFailedException(detail="the resource changed since that version")

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        now = datetime.now(UTC)
        if resource_type.name == "User":
            member = await people.create_agent(self.session, self.actor, self.client_id, agent_fields(resource), now)
            return await self._user(resource_type, str(member.id))
        team = await people.create_group(self.session, self.actor, self.client_id, group_fields(resource))
        return await self._group(resource_type, str(team.id))

    async def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        rid = str(resource.id)
        self._check_version(await self.get(resource_type, rid), expected_version)
        if resource_type.name == "User":
            member = await people.get_agent(self.session, self.client_id, rid, lock=True)
            await people.update_agent(self.session, self.actor, member, agent_fields(resource), datetime.now(UTC))
            return await self._user(resource_type, rid)
        team = await people.get_group(self.session, self.client_id, rid, lock=True)
        await people.update_group(self.session, self.actor, team, group_fields(resource))
        return await self._group(resource_type, rid)

    async def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        self._check_version(await self.get(resource_type, resource_id), expected_version)
        if resource_type.name == "User":
            member = await people.get_agent(self.session, self.client_id, resource_id, lock=True)
            await people.delete_agent(self.session, self.actor, member, datetime.now(UTC))
        else:
            team = await people.get_group(self.session, self.client_id, resource_id, lock=True)
            await people.delete_group(self.session, self.actor, team)
