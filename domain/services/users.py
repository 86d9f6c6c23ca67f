"""Logins: who may sign in, how often a password may be tried, and ending a login's sessions.

Every token and admin session carries the account's ``token_version``; each authenticated request
reads the account's ``active`` flag and version by primary key (:func:`live_account`).
Disabling an account, changing its password or logging out bumps the version: every session
issued before ends on its next request.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, NotFound
from domain.models import ApiClient, User
from domain.models.user import Role
from domain.services.audit import Actor, record, snapshot
from domain.services.lookup import get_or_404

AccountKind = Literal["user", "client"]


class TooManyAttempts(DomainError):
    """429: too many password attempts for this account name or from this address."""

    status = 429
    title = "Too many attempts"
    type_suffix = "too-many-attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after_seconds=retry_after)
        self.retry_after = retry_after


# ---- liveness: one primary-key lookup per authenticated request -----------------------------

_LIVE_SQL = {
    # locked: a temporary password that must be changed before anything else works (issue 13)
    "user": text(
        "SELECT token_version, password_change IS NOT DISTINCT FROM 'required' AS locked FROM users WHERE id = :id AND active"
    ),
    "client": text("SELECT token_version, false AS locked FROM api_clients WHERE id = :id AND active"),
}


@dataclass(frozen=True)
class Liveness:
    token_version: int
    locked: bool  # must change a temporary password first


async def live_account(session: AsyncSession, kind: AccountKind, account_id: uuid.UUID) -> Liveness | None:
    """The current token version of an active account, and whether it must change its password
    first; None when it is disabled or gone."""
    # on the session's connection: the ORM's execute path would double this per-request lookup's cost
    row = (await (await session.connection()).execute(_LIVE_SQL[kind], {"id": account_id})).first()
    return Liveness(int(row.token_version), bool(row.locked)) if row is not None else None


# ---- ending sessions --------------------------------------------------------------------------


async def _bump(session: AsyncSession, model: type[User] | type[ApiClient], account_id: uuid.UUID) -> None:
    await session.execute(
        update(model)
        .where(model.id == account_id)
        .values(token_version=model.token_version + 1)
        .execution_options(synchronize_session=False)
    )


async def end_sessions(session: AsyncSession, actor: Actor, user: User) -> None:
    """Log out everywhere: every token and admin session of the user stops working at once."""
    await _bump(session, User, user.id)
    await record(session, actor, "user.logout", "user", user.id, client_id=user.client_id)


async def end_api_client_sessions(session: AsyncSession, actor: Actor, api_client: ApiClient) -> None:
    await _bump(session, ApiClient, api_client.id)
    await record(session, actor, "api_client.logout", "api_client", api_client.id, client_id=api_client.client_id)


async def change_password(session: AsyncSession, actor: Actor, user: User, password_hash: str) -> None:
    """A new password ends every session issued under the old one."""
    user.password_hash = password_hash
    user.password_change = None  # a temporary or printed password is replaced
    await session.flush()
    await _bump(session, User, user.id)
    await record(session, actor, "user.password_change", "user", user.id, client_id=user.client_id)


async def active_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The login by id, when it is active (an admin session is loaded this way on every request)."""
    user: User | None = await session.scalar(select(User).where(User.id == user_id, User.active.is_(True)))
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, tenant: uuid.UUID | None, staff: bool) -> User:
    """A login, row-locked. ``staff`` sees every login; anyone else only its tenant's (others: 404)."""
    user = await get_or_404(session, User, user_id, "user", for_update=True)
    if not staff and (tenant is None or user.client_id != tenant):
        raise NotFound("user not found")
    return user


async def _set_active(session: AsyncSession, actor: Actor, account: User | ApiClient, active: bool, kind: str) -> None:
    """Disable or enable an account; disabling ends its sessions at once (the token version moves)."""
    before = snapshot(account)
    account.active = active
    await session.flush()
    if not active:
        await _bump(session, type(account), account.id)
    await record(
        session,
        actor,
        f"{kind}.enable" if active else f"{kind}.disable",
        kind,
        account.id,
        before=before,
        after=snapshot(account),
        client_id=account.client_id,
    )


async def set_active(session: AsyncSession, actor: Actor, user: User, active: bool) -> User:
    """Disable or enable a login; disabling ends its sessions at once."""
    await _set_active(session, actor, user, active, "user")
    await session.refresh(user)
    return user


async def set_api_client_active(session: AsyncSession, actor: Actor, api_client: ApiClient, active: bool) -> None:
    await _set_active(session, actor, api_client, active, "api_client")


# ---- password logins ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An active account a secret may belong to (several logins may share an email)."""

    kind: AccountKind
    id: uuid.UUID
    secret_hash: str
    role: str
    client_id: uuid.UUID | None
    label: str
    token_version: int


MAX_CANDIDATES = 20


async def password_candidates(session: AsyncSession, email: str) -> list[Candidate]:
    """Active logins with this email: staff first, then tenants in a stable order."""
    rows = await session.execute(
        text(
            "SELECT id, password_hash, role, client_id, email, token_version FROM users "
            "WHERE email = :email AND active ORDER BY client_id NULLS FIRST, id LIMIT :n"
        ),
        {"email": email.strip().lower(), "n": MAX_CANDIDATES},
    )
    return [Candidate("user", r.id, r.password_hash, r.role, r.client_id, r.email, r.token_version) for r in rows]


async def api_client_candidates(session: AsyncSession, client_key: str) -> list[Candidate]:
    rows = await session.execute(
        text("SELECT id, secret_hash, role, client_id, token_version FROM api_clients WHERE client_key = :key AND active"),
        {"key": client_key},
    )
    return [Candidate("client", r.id, r.secret_hash, r.role, r.client_id, f"client:{client_key}", r.token_version) for r in rows]


@dataclass(frozen=True)
class LoginLimits:
    account_max_failures: int
    address_max_failures: int
    window_seconds: int


def _digest(kind: str, value: str) -> str:
    return kind + ":" + hashlib.sha256(value.encode()).hexdigest()


def throttle_keys(account: str, address: str | None) -> tuple[str, str | None]:
    """The counter keys: the account name as typed (known or not), and the network address."""
    return _digest("acct", account.strip().lower()), _digest("addr", address) if address else None


async def reserve_login_attempt(session: AsyncSession, account: str, address: str | None, limits: LoginLimits) -> None:
    """Count this attempt against its account name and address, *before* any hashing, and refuse it
    (429) when either count is past its limit.

    Attempts are counted up front and forgiven on success (:func:`login_succeeded`): counting only
    failures after the hash would let a burst of concurrent guesses all pass the check before the
    first one fails. One statement: an atomic upsert per key (every replica shares the counts),
    which also purges up to a hundred expired counters, so the table holds about one window's
    attempts. Call it last in its transaction: the counter rows stay locked until the commit.
    """
    acct, addr = throttle_keys(account, address)
    keys = [(acct, limits.account_max_failures)] + ([(addr, limits.address_max_failures)] if addr else [])
    values = ", ".join(f"(:k{i}, 1, now())" for i in range(len(keys)))
    mine = ", ".join(f":k{i}" for i in range(len(keys)))
    rows = (
        await session.execute(
            text(
                "WITH purged AS (DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures "
                "  WHERE window_started_at < now() - make_interval(secs => :window) AND key NOT IN (" + mine + ") "
                "  LIMIT 100 FOR UPDATE SKIP LOCKED)) "
                "INSERT INTO login_failures AS f (key, failures, window_started_at) VALUES " + values + " "
                "ON CONFLICT (key) DO UPDATE SET "
                "failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) THEN 1 "
                "                ELSE f.failures + 1 END, "
                "window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) "
                "                THEN now() ELSE f.window_started_at END "
                # now() is this transaction's start: a window opened by a later one may look longer
                "RETURNING key, failures, LEAST(:window, GREATEST(1, CEIL(EXTRACT(EPOCH FROM "
                "  f.window_started_at + make_interval(secs => :window) - now()))))::int AS retry_after"
            ),
            {"window": limits.window_seconds, **{f"k{i}": k for i, (k, _) in enumerate(keys)}},
        )
    ).all()
    limit = dict(keys)
    over = [r for r in rows if r.failures > limit[r.key]]
    if over:
        raise TooManyAttempts(
            "too many failed sign-in attempts; try again later", retry_after=max(int(r.retry_after) for r in over)
        )


async def login_succeeded(session: AsyncSession, account: str, address: str | None) -> None:
    """A right password: the account's count starts again, and the address's attempt is forgiven."""
    acct, addr = throttle_keys(account, address)
    await session.execute(text("DELETE FROM login_failures WHERE key = :k"), {"k": acct})
    if addr:
        await session.execute(text("UPDATE login_failures SET failures = GREATEST(failures - 1, 0) WHERE key = :k"), {"k": addr})


async def password_hash_of(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The stored hash a signed-in user's current password is checked against."""
    found: str | None = await session.scalar(select(User.password_hash).where(User.id == user_id))
    return found


async def any_admin(session: AsyncSession) -> bool:
    """Whether some admin login exists (the first start creates one when none does)."""
    return bool(await session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)))
