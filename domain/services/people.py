"""People (issue 13): listing logins, creating them, temporary passwords and one-time reset links.

Who may do what is decided by the caller's role (the edges pass ``staff`` and ``tenant``): staff
see every login, a client's admin only its own tenant's (any other is 404, as if it did not exist).
Passwords arrive here already hashed (hashing is the edge's, off the event loop); reset tokens are
256 random bits kept only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, NotFound
from domain.models import PasswordReset, User
from domain.models.user import CLIENT_ROLES, PasswordChangeDue, Role
from domain.services import clients
from domain.services.audit import Actor, record
from domain.services.paging import keyset_page
from domain.services.users import end_sessions, set_active

RESET_TTL = timedelta(hours=24)
REQUIRED = PasswordChangeDue.REQUIRED  # a temporary password: nothing but changing it works until then
SUGGESTED = PasswordChangeDue.SUGGESTED  # the first admin's printed password: the admin says where to change it


def new_secret(nbytes: int = 18) -> str:
    """A password or secret shown once: URL-safe, ``nbytes`` random bytes."""
    return secrets.token_urlsafe(nbytes)


def reset_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    client_id: uuid.UUID | None = None
    active: bool | None = None
    email: str | None = None  # a part of the address


def _users_query(f: UserFilter, *, tenant: uuid.UUID | None, staff: bool) -> Select[Any]:
    stmt = select(User)
    if not staff:
        stmt = stmt.where(User.client_id == tenant)  # tenant None and not staff: nothing
    if f.role:
        stmt = stmt.where(User.role == f.role)
    if f.client_id:
        stmt = stmt.where(User.client_id == f.client_id)
    if f.active is not None:
        stmt = stmt.where(User.active.is_(f.active))
    if f.email:
        stmt = stmt.where(User.email.contains(f.email.strip().lower(), autoescape=True))
    return stmt


async def list_users(
    session: AsyncSession, f: UserFilter, *, tenant: uuid.UUID | None, staff: bool, cursor: str | None, limit: int
) -> tuple[list[User], str | None]:
    return await keyset_page(session, _users_query(f, tenant=tenant, staff=staff), User.id, cursor, limit)


def check_may_manage_role(role: str, *, staff: bool, tenant: uuid.UUID | None, client_id: uuid.UUID | None) -> None:
    """A client's admin makes only its own tenant's client roles; staff roles carry no client."""
    if not staff and role not in CLIENT_ROLES:
        raise Forbidden("a client's admin creates logins of its own client only", field="role")
    if role in CLIENT_ROLES and client_id is None:
        raise Conflict("a client role needs a client_id", field="client_id")
    if role not in CLIENT_ROLES and client_id is not None:
        raise Conflict("a staff role carries no client_id", field="client_id")
    if not staff and client_id != tenant:
        raise NotFound("client not found")  # another tenant does not exist


async def create_login(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    password_hash: str,
    role: str,
    client_id: uuid.UUID | None,
    temporary: bool,
) -> User:
    """A login; with ``temporary`` its password must be changed before anything else works."""
    if client_id is not None:
        await clients.get_client(session, client_id)  # 404 for an unknown client
    return await clients.create_user(
        session,
        actor,
        email=email,
        password_hash=password_hash,
        role=role,
        client_id=client_id,
        password_change=REQUIRED if temporary else None,
    )


async def disable_or_enable(session: AsyncSession, actor: Actor, user: User, active: bool) -> User:
    """Disabling ends every session of the login at once; nobody disables themselves, and the last
    active admin stays (else nobody could manage logins any more)."""
    if not active and user.id == actor.subject:
        raise Conflict("you cannot disable your own login", field="active")
    if not active and user.role == Role.ADMIN and user.active:
        others = await session.scalar(
            select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise Conflict("this is the last active admin; make another admin first", field="active")
    return await set_active(session, actor, user, active)


async def set_temporary_password(session: AsyncSession, actor: Actor, user: User, password_hash: str) -> None:
    """An admin-set password (shown once to the admin): every session ends, and the user must change
    it at the next sign-in."""
    user.password_hash = password_hash
    user.password_change = REQUIRED
    await session.flush()
    await end_sessions(session, actor, user)
    await record(session, actor, "user.password_temporary", "user", user.id, client_id=user.client_id)


async def create_reset_link(
    session: AsyncSession, actor: Actor, user: User, *, now: datetime | None = None
) -> tuple[str, datetime]:
    """A one-time reset token (returned once, stored as its hash) valid for a day; earlier unused
    links of the user stop working. The user's sessions go on until the password is changed."""
    now = now or datetime.now(UTC)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    expires = now + RESET_TTL
    session.add(PasswordReset(user_id=user.id, token_hash=reset_token_hash(token), expires_at=expires, created_by=actor.label))
    await session.flush()
    await record(session, actor, "user.password_reset_link", "user", user.id, client_id=user.client_id)
    return token, expires


async def reset_link_user(session: AsyncSession, token: str) -> User:
    """The login a reset token is for, while the token is unused and unexpired (else 404)."""
    row = await session.scalar(select(PasswordReset).where(PasswordReset.token_hash == reset_token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise NotFound("this reset link is unknown, used or expired; ask your administrator for a new one", field="token")
    user = await session.get_one(User, row.user_id)
    if not user.active:
        raise NotFound("this login is disabled", field="token")
    return user


async def use_reset_link(session: AsyncSession, actor: Actor, token: str, password_hash: str) -> User:
    """Set the password through a reset link, once: the token is spent in the same statement that
    checks it (two concurrent uses: one wins, the other is refused). Every session ends."""
    user_id = await session.scalar(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == reset_token_hash(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(PasswordReset.user_id)
    )
    user = await session.get(User, user_id, with_for_update=True) if user_id else None
    if user is None or not user.active:
        raise NotFound("this reset link is unknown, used or expired; ask your administrator for a new one", field="token")
    user.password_hash = password_hash
    user.password_change = None
    await session.flush()
    await end_sessions(session, actor, user)
    await record(session, actor, "user.password_reset", "user", user.id, client_id=user.client_id)
    return user


async def client_names(session: AsyncSession, *, limit: int = 1000) -> dict[uuid.UUID, str]:
    """Every client's legal name by id (the admin's pickers and its lists of logins and keys)."""
    from domain.models import Client

    rows = await session.execute(select(Client.id, Client.legal_name).order_by(Client.legal_name).limit(limit))
    return {r.id: r.legal_name for r in rows}


async def find_login(session: AsyncSession, *, email: str | None, user_id: uuid.UUID | None) -> User:
    """A login by id, or a staff login by email (client logins share emails across tenants: by id)."""
    if user_id is not None:
        found = await session.get(User, user_id, with_for_update=True)
    else:
        found = await session.scalar(
            select(User).where(User.email == (email or "").strip().lower(), User.client_id.is_(None)).with_for_update()
        )
    if found is None:
        raise NotFound("no such login" + (" among staff (a client's login: use --id)" if user_id is None else ""))
    return found
