"""A client's SCIM bearer token (issue 14): issued (or rotated) and revoked by the client's admin or
staff, shown once, kept only as its SHA-256.

One token per client. Issuing again replaces the hash in the same row under its lock, so the old
token stops working when the new one is committed: no overlap, and two concurrent rotations leave
exactly one working token (the last committed). A presented token is looked up by its hash (an
index probe, no per-candidate comparison an attacker could time) and then compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.models import ScimToken
from domain.services.audit import Actor, record

TOKEN_PREFIX = "slscim_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenStatus:
    client_id: uuid.UUID
    active: bool
    issued_at: datetime | None
    issued_by: str
    rotations: int
    revoked_at: datetime | None
    last_used_at: datetime | None


def _status(client_id: uuid.UUID, row: ScimToken | None) -> TokenStatus:
    if row is None:
        return TokenStatus(client_id, False, None, "", 0, None, None)
    return TokenStatus(
        client_id, row.token_hash is not None, row.issued_at, row.issued_by, row.rotations, row.revoked_at, row.last_used_at
    )


async def token_status(session: AsyncSession, client_id: uuid.UUID) -> TokenStatus:
    return _status(client_id, await session.get(ScimToken, client_id))


async def issue_token(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> tuple[str, TokenStatus]:
    """A new token for the client's SCIM endpoint (returned once); any earlier one stops working."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    # the row first (two first issues at once: one inserts, the other waits on its lock), then its lock
    await session.execute(pg_insert(ScimToken).values(client_id=client_id).on_conflict_do_nothing(index_elements=["client_id"]))
    row = await session.get_one(ScimToken, client_id, with_for_update=True, populate_existing=True)
    rotated = row.token_hash is not None
    if rotated:
        row.rotations += 1
    row.token_hash = token_hash(token)
    row.issued_at = now
    row.issued_by = actor.label
    row.revoked_at = None
    await session.flush()
    await record(
        session,
        actor,
        "scim.token_rotated" if rotated else "scim.token_issued",
        "client",
        client_id,
        after={"issued_at": now, "rotations": row.rotations},
        client_id=client_id,
    )
    return token, _status(client_id, row)


async def revoke_token(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> TokenStatus:
    """The endpoint refuses every request until a new token is issued (404 when none is active)."""
    row = await session.get(ScimToken, client_id, with_for_update=True, populate_existing=True)
    if row is None or row.token_hash is None:
        raise NotFound("this client has no active SCIM token")
    row.token_hash = None
    row.revoked_at = datetime.now(UTC)
    await session.flush()
    await record(
        session, actor, "scim.token_revoked", "client", client_id, after={"revoked_at": row.revoked_at}, client_id=client_id
    )
    return _status(client_id, row)


async def authenticate(session: AsyncSession, client_id: uuid.UUID, token: str) -> bool:
    """Whether ``token`` is the active SCIM token of ``client_id`` (another client's token: False)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return False
    digest = token_hash(token)
    row = await session.scalar(select(ScimToken).where(ScimToken.token_hash == digest))
    stored = row.token_hash if row is not None and row.client_id == client_id else None
    # compare in constant time even when nothing was found, so a miss and a wrong tenant cost the same
    ok = hmac.compare_digest((stored or "0" * 64).encode(), digest.encode()) and stored is not None
    if ok:
        # at most once a minute per token: a busy identity provider does not write on every call
        await session.execute(
            update(ScimToken)
            .where(ScimToken.client_id == client_id)
            .where((ScimToken.last_used_at.is_(None)) | (ScimToken.last_used_at < datetime.now(UTC).replace(second=0)))
            .values(last_used_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
    return ok


# ---- throttle: an address that keeps presenting wrong tokens is refused for a while --------------
# Counted per network address only, never per client: a stranger's guesses must not lock out the
# client's own identity provider. Kept in the sign-in throttle's table (shared by every replica).


def _address_key(address: str) -> str:
    return "scimaddr:" + hashlib.sha256(address.encode()).hexdigest()


async def address_retry_after(session: AsyncSession, address: str | None, max_failures: int, window_seconds: int) -> int:
    """Seconds this address must wait (0: it may try)."""
    if not address:
        return 0
    wait = await session.scalar(
        text(
            "SELECT CEIL(EXTRACT(EPOCH FROM window_started_at + make_interval(secs => CAST(:w AS float8)) - now()))::int "
            "FROM login_failures WHERE key = :k AND failures >= CAST(:n AS int) "
            "AND window_started_at > now() - make_interval(secs => CAST(:w AS float8))"
        ),
        {"k": _address_key(address), "n": max_failures, "w": window_seconds},
    )
    return max(1, int(wait)) if wait is not None else 0


async def address_failed(session: AsyncSession, address: str | None, window_seconds: int) -> None:
    if not address:
        return
    await session.execute(
        text(
            "INSERT INTO login_failures AS f (key, failures, window_started_at) VALUES (:k, 1, now()) "
            "ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => CAST(:w AS float8)) "
            "THEN 1 ELSE f.failures + 1 END, "
            "window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => CAST(:w AS float8)) "
            "THEN now() ELSE f.window_started_at END"
        ),
        {"k": _address_key(address), "w": window_seconds},
    )
