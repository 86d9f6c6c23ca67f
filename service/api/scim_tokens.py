"""A client's SCIM token (issue 14): the bearer token its identity provider uses on
`/scim/v2/clients/{client_id}`.

Who may call: `admin` (any client's) and `client_admin` (its own client's; another tenant's is 404).
Others: 403. The token is returned once, by issue/rotate; seatlease keeps only its SHA-256.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Request

from domain.models.user import Role
from domain.services import clients, scim_tokens
from domain.services.scim_schemas import ScimTokenSecret, ScimTokenStatus
from service.auth import Principal, require_roles
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["client SCIM"])

ScimAdmin = Annotated[Principal, require_roles(Role.ADMIN, Role.CLIENT_ADMIN)]
_ROLES = " Roles: admin (any client's), client_admin (its own client's; any other is 404)."


def _status(request: Request, status: scim_tokens.TokenStatus) -> ScimTokenStatus:
    endpoint = str(request.base_url).rstrip("/") + f"/scim/v2/clients/{status.client_id}"
    return ScimTokenStatus(endpoint=endpoint, **asdict(status))


async def _client(session: SessionDep, user: Principal, client_id: uuid.UUID) -> None:
    user.require_client(client_id, "client")
    await clients.get_client(session, client_id)  # 404 for an unknown client


@router.get(
    "/clients/{client_id}/scim-token",
    response_model=ScimTokenStatus,
    summary="Show a client's SCIM token state",
    description="Whether the client's SCIM endpoint has a token in force, who issued it and when, how often "
    "it was rotated, when the identity provider last called, and the endpoint's URL. Never the token." + _ROLES,
)
async def get_scim_token(client_id: uuid.UUID, request: Request, user: ScimAdmin, session: SessionDep) -> ScimTokenStatus:
    await _client(session, user, client_id)
    return _status(request, await scim_tokens.token_status(session, client_id))


@router.post(
    "/clients/{client_id}/scim-token",
    response_model=ScimTokenSecret,
    summary="Issue or rotate a client's SCIM token",
    description="A new bearer token for the client's SCIM endpoint, in this answer only. An earlier token stops "
    "working at once (no overlap: paste the new one into the identity provider). Concurrent calls take turns: only "
    "the last token returned works." + _ROLES,
)
async def issue_scim_token(client_id: uuid.UUID, request: Request, user: ScimAdmin, session: SessionDep) -> ScimTokenSecret:
    await _client(session, user, client_id)
    token, status = await scim_tokens.issue_token(session, user, client_id)
    return ScimTokenSecret(token=token, **_status(request, status).model_dump())


@router.delete(
    "/clients/{client_id}/scim-token",
    response_model=ScimTokenStatus,
    summary="Revoke a client's SCIM token",
    description="The client's SCIM endpoint refuses every call (401) until a new token is issued. "
    "No token in force: 404." + _ROLES,
)
async def revoke_scim_token(client_id: uuid.UUID, request: Request, user: ScimAdmin, session: SessionDep) -> ScimTokenStatus:
    await _client(session, user, client_id)
    return _status(request, await scim_tokens.revoke_token(session, user, client_id))
