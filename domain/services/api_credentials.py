"""API credentials (issue 13): machine clients of the OAuth2 ``client_credentials`` grant.

Made by staff (for any client, or a staff machine role) or by a client's admin for its own client.
The secret is shown once and kept only as a hash (the edge hashes it, off the event loop). Rotating
replaces the hash and ends every token issued under the old secret at once: there is no overlap, so
a leaked secret is dead the moment it is rotated (an integration swaps its secret, then asks for a
token). Revoking is for good. ``last_used_at`` is written when a token is issued, never per request.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, NotFound
from domain.models import ApiClient
from domain.models.user import CLIENT_ROLES, Role
from domain.services import clients
from domain.services.audit import Actor, record, snapshot
from domain.services.paging import keyset_page

# a machine credential never holds the admin role: it manages no people and no other keys
MACHINE_STAFF_ROLES: tuple[str, ...] = (Role.FACILITY_STAFF, Role.FINANCE)


def check_role(role: str, *, client_id: uuid.UUID | None, staff: bool, tenant: uuid.UUID | None) -> None:
    if role in CLIENT_ROLES:
        if client_id is None:
            raise Conflict("a client role needs a client_id", field="client_id")
        if not staff and client_id != tenant:
            raise NotFound("client not found")
    elif role in MACHINE_STAFF_ROLES:
        if not staff:
            raise Forbidden("a client's admin makes credentials of its own client only", field="role")
        if client_id is not None:
            raise Conflict("a staff machine role carries no client_id", field="client_id")
    else:
        raise Conflict(f"role must be one of {', '.join([*CLIENT_ROLES, *MACHINE_STAFF_ROLES])}", field="role")


async def create(
    session: AsyncSession, actor: Actor, *, name: str, role: str, client_id: uuid.UUID | None, secret_hash: str
) -> ApiClient:
    if client_id is not None:
        await clients.get_client(session, client_id)  # 404 for an unknown client
    row = ApiClient(
        client_key="slc_" + secrets.token_hex(12),
        secret_hash=secret_hash,
        role=role,
        client_id=client_id,
        name=name,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record(session, actor, "api_client.create", "api_client", row.id, after=snapshot(row), client_id=client_id)
    return row


async def list_credentials(
    session: AsyncSession,
    *,
    tenant: uuid.UUID | None,
    staff: bool,
    client_id: uuid.UUID | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ApiClient], str | None]:
    stmt = select(ApiClient)
    if not staff:
        stmt = stmt.where(ApiClient.client_id == tenant)
    if client_id is not None:
        stmt = stmt.where(ApiClient.client_id == client_id)
    if active is not None:
        stmt = stmt.where(ApiClient.active.is_(active))
    return await keyset_page(session, stmt, ApiClient.id, cursor, limit)


async def get(session: AsyncSession, credential_id: uuid.UUID, *, tenant: uuid.UUID | None, staff: bool) -> ApiClient:
    """A credential, row-locked (concurrent rotations take turns); another tenant's is 404."""
    row = await session.get(ApiClient, credential_id, with_for_update=True)
    if row is None or (not staff and (tenant is None or row.client_id != tenant)):
        raise NotFound("API credential not found")
    return row


async def rotate(session: AsyncSession, actor: Actor, row: ApiClient, secret_hash: str) -> ApiClient:
    """A new secret; the old one and every token issued under it stop working at once."""
    if not row.active:
        raise Conflict("this credential is revoked; make a new one", field="id")
    row.secret_hash = secret_hash
    row.token_version += 1
    row.rotated_at = datetime.now(UTC)
    await session.flush()
    await record(session, actor, "api_client.rotate", "api_client", row.id, client_id=row.client_id)
    return row


async def revoke(session: AsyncSession, actor: Actor, row: ApiClient) -> ApiClient:
    """For good: the secret and every token issued under it stop working at once."""
    if row.active:
        before = snapshot(row)
        row.active = False
        row.token_version += 1
        row.revoked_at = datetime.now(UTC)
        await session.flush()
        await record(
            session, actor, "api_client.revoke", "api_client", row.id, before=before, after=snapshot(row), client_id=row.client_id
        )
    return row


async def mark_used(session: AsyncSession, credential_id: uuid.UUID) -> None:
    """A token was issued: one primary-key update in the sign-in's closing transaction."""
    await session.execute(text("UPDATE api_clients SET last_used_at = now() WHERE id = :id"), {"id": credential_id})
