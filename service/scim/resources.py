"""What the endpoint publishes (RFC 7643's User and Group schemas, its configuration) and how an
agent or a team reads as a SCIM resource, and back.

A User keeps whatever attributes its identity provider sent (``members.scim_attributes``, never a
password); seatlease reads userName, externalId, the name, the primary email and ``active`` from
it. Its ``groups`` are the team it sits in. A Group is a team: displayName, externalId, members.
Versions (ETags) are a digest of the resource, so they change exactly when the resource does.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    InvalidValueException,
    Patch,
    Resource,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)
from scim2_server.service import ScimService
from scim2_server.utils import load_default_resource_types, load_default_schemas

from domain.models import Member, Team
from domain.services.scim_people import AgentFields, GroupFields

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_RESULTS = 500
# never kept: a password is the identity provider's, and these are computed on every read
_NOT_STORED = ("id", "meta", "groups", "password")


def config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri="https://github.com/seatlease/seatlease#client-scim",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="The client's SCIM token, issued by the client's admin (POST /v1/clients/{id}/scim-token)",
                primary=True,
            )
        ],
    )


@cache
def service() -> ScimService:
    schemas, types = load_default_schemas().values(), load_default_resource_types().values()
    provider = ScimProvider.from_discovery(schemas, types, config=config())
    return ScimService(provider)


def _version(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:20]}"'


def _meta(kind: str, created: Any, modified: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": kind, "created": created.isoformat(), "lastModified": modified.isoformat(), "version": _version(body)}


def user_resource(model: type[Resource[Any]], member: Member, team: Team | None) -> Resource[Any]:
    body: dict[str, Any] = dict(member.scim_attributes or {})
    if not body:  # an agent made through the API or the admin: its email names it
        body = {"displayName": member.name, "emails": [{"value": member.email, "primary": True}]}
    body.update(schemas=body.get("schemas") or [USER_SCHEMA], id=str(member.id), userName=member.user_name or member.email)
    # `active` as the identity provider last wrote it (an agent made elsewhere: its state); a
    # removed `active` stays absent and changes nothing
    if "active" in body or not member.scim_attributes:
        body["active"] = member.active
    if member.external_id is not None:
        body["externalId"] = member.external_id
    if team is not None and not team.holding:
        body["groups"] = [{"value": str(team.id), "$ref": f"Groups/{team.id}", "display": team.name, "type": "direct"}]
    body["meta"] = _meta("User", member.created_at, member.updated_at or member.created_at, body)
    return model.model_validate(body)


def group_resource(model: type[Resource[Any]], team: Team, members: list[Member]) -> Resource[Any]:
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(team.id), "displayName": team.name}
    if team.external_id is not None:
        body["externalId"] = team.external_id
    if members:
        # a member reads back exactly as the identity provider wrote it (its display only if it gave one)
        displays: dict[str, str] = (team.scim_attributes or {}).get("displays") or {}
        body["members"] = [
            {"value": str(m.id), "$ref": f"Users/{m.id}", "type": "User"}
            | ({"display": displays[str(m.id)]} if str(m.id) in displays else {})
            for m in members
        ]
    body["meta"] = _meta("Group", team.created_at, team.created_at, body)
    return model.model_validate(body)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def agent_fields(resource: Resource[Any]) -> AgentFields:
    data = resource.model_dump()
    user_name = str(data.get("userName") or "")
    emails = data.get("emails") or []
    email = next((e.get("value") for e in emails if e.get("primary") and e.get("value")), None)
    email = email or next((e.get("value") for e in emails if e.get("value")), None)
    if not email:
        # seatlease needs an address for the agent's logins; the userName stands in for it
        email = user_name if "@" in user_name else f"{user_name}@idp.invalid"
    name = data.get("name") or {}
    display = (
        data.get("displayName")
        or name.get("formatted")
        or " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
        or user_name
    )
    active = data.get("active")
    return AgentFields(
        user_name=user_name,
        name=str(display),
        email=str(email),
        active=None if active is None else bool(active),
        external_id=_s(data.get("externalId")),
        attributes={k: v for k, v in data.items() if k not in _NOT_STORED},
    )


def group_fields(resource: Resource[Any]) -> GroupFields:
    data = resource.model_dump()
    ids: list[str] = []
    displays: dict[str, str] = {}
    for m in data.get("members") or []:
        if (m.get("type") or "User") != "User":
            raise InvalidValueException(detail="a group's members are users; nested groups are not supported")
        value = m.get("value") or str(m.get("$ref") or "").rsplit("/", 1)[-1]
        if not value:
            raise InvalidValueException(detail="a member needs its value (the user's id)")
        ids.append(str(value))
        if m.get("display"):
            displays[str(value)] = str(m["display"])[:300]
    return GroupFields(str(data.get("displayName") or ""), _s(data.get("externalId")), ids, displays)
