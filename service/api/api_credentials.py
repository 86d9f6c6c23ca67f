"""API credentials (issue 13): machine clients of the `client_credentials` grant.

Who may call: `admin` (credentials of any client, or a facility_staff / finance machine role) and a
`client_admin` (its own client's only; another tenant's are 404). Others: 403. The secret is
returned once, by create and by rotate; the server keeps only its hash. Rotating ends the old
secret and every token issued under it at once (no overlap); revoking is for good.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request

from domain.models.user import Role
from domain.schemas import Page
from domain.services import api_credentials as creds
from domain.services import people
from domain.services.user_schemas import ApiCredential, ApiCredentialCreate, ApiCredentialSecret
from service.api.deps import Cursor, Limit
from service.auth import Principal, hash_secret_bounded, require_roles
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["api credentials"])

KeyAdmin = Annotated[Principal, require_roles(Role.ADMIN, Role.CLIENT_ADMIN)]
_ROLES = " Roles: admin (any client's, or a staff machine role), client_admin (its own client's; any other is 404)."


@router.get(
    "/api-credentials",
    response_model=Page[ApiCredential],
    summary="List API credentials",
    description="Credentials with who made them and when, and when a token was last issued for each." + _ROLES,
)
async def list_credentials(
    user: KeyAdmin,
    session: SessionDep,
    client_id: uuid.UUID | None = None,
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ApiCredential]:
    rows, nxt = await creds.list_credentials(
        session, tenant=user.client_id, staff=user.is_staff, client_id=client_id, active=active, cursor=cursor, limit=limit
    )
    return Page(items=[ApiCredential.model_validate(r) for r in rows], next_cursor=nxt)


async def _secret(request: Request) -> tuple[str, str]:
    secret = people.new_secret(32)
    return secret, await hash_secret_bounded(request.app.state.settings, secret)


@router.post(
    "/api-credentials",
    status_code=201,
    response_model=ApiCredentialSecret,
    summary="Create an API credential",
    description="A named credential; `client_key` and `client_secret` are the grant's `client_id` and "
    "`client_secret`. The secret is in this answer only. A client_admin may leave `client_id` out." + _ROLES,
)
async def create_credential(
    body: ApiCredentialCreate, request: Request, user: KeyAdmin, session: SessionDep
) -> ApiCredentialSecret:
    client_id = body.client_id if user.is_staff or body.client_id else user.client_id
    creds.check_role(body.role, client_id=client_id, staff=user.is_staff, tenant=user.client_id)
    secret, secret_hash = await _secret(request)
    row = await creds.create(session, user, name=body.name, role=body.role, client_id=client_id, secret_hash=secret_hash)
    return ApiCredentialSecret.model_validate({**ApiCredential.model_validate(row).model_dump(), "client_secret": secret})


@router.post(
    "/api-credentials/{api_credential_id}/rotate",
    response_model=ApiCredentialSecret,
    summary="Rotate an API credential's secret",
    description="A new secret, in this answer only. The old secret and every token issued under it stop "
    "working at once (no overlap: swap the secret in the integration, then ask for a token). Concurrent "
    "rotations take turns: only the last secret returned works. A revoked credential: 409." + _ROLES,
)
async def rotate_credential(
    api_credential_id: uuid.UUID, request: Request, user: KeyAdmin, session: SessionDep
) -> ApiCredentialSecret:
    secret, secret_hash = await _secret(request)  # hashed before the row is locked
    row = await creds.get(session, api_credential_id, tenant=user.client_id, staff=user.is_staff)
    row = await creds.rotate(session, user, row, secret_hash)
    return ApiCredentialSecret.model_validate({**ApiCredential.model_validate(row).model_dump(), "client_secret": secret})


@router.post(
    "/api-credentials/{api_credential_id}/revoke",
    response_model=ApiCredential,
    summary="Revoke an API credential",
    description="For good: the secret and every token issued under it stop working at once. Revoking "
    "again changes nothing." + _ROLES,
)
async def revoke_credential(api_credential_id: uuid.UUID, user: KeyAdmin, session: SessionDep) -> ApiCredential:
    row = await creds.get(session, api_credential_id, tenant=user.client_id, staff=user.is_staff)
    return ApiCredential.model_validate(await creds.revoke(session, user, row))
