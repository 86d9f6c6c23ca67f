"""Passwords (Argon2), JWTs (python-jose, HS256 fixed server-side) and the typed principals.

A token is only as good as the account behind it: it carries the account's ``token_version``, and
every authenticated request reads the account's ``active`` flag and version with one primary-key
lookup (``users_pkey`` / ``api_clients_pkey``; well under a millisecond, in the request's own
transaction, so no extra connection or round trip for BEGIN). Disabling the account, changing its
password or logging out bumps the version: every token issued before is refused at once.

Password checks (:func:`authenticate`) never hold a database connection while hashing: the
account is looked up and the attempt counted in a short transaction, the connection goes back to
the pool, Argon2 runs in a bounded thread pool, and a second short transaction records success.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from domain.models.user import CLIENT_ROLES, ROLES, STAFF_ROLES, Role
from domain.services import api_credentials, users
from service.db import SessionDep
from service.settings import Settings, get_settings

logger = logging.getLogger("seatlease.auth")

ALGORITHM = "HS256"
_hasher = PasswordHasher()
# verifying against this keeps unknown-user logins as slow as known ones
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# ---- bounded hashing: Argon2 takes 64 MiB and a core for tens of milliseconds per call -------

_pools: dict[int, ThreadPoolExecutor] = {}
T = TypeVar("T")


def _hash_pool(settings: Settings) -> ThreadPoolExecutor:
    """One process-wide pool per size: at most ``login_hash_concurrency`` hashes run at once, in
    threads (off the event loop); further ones wait in its queue, holding no connection."""
    size = settings.login_hash_concurrency
    if size not in _pools:
        _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")
    return _pools[size]


async def _in_hash_pool(settings: Settings, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool(settings), fn, *args)


async def hash_secret_bounded(settings: Settings, secret: str) -> str:
    return await _in_hash_pool(settings, hash_secret, secret)


_db_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _db_gate(settings: Settings) -> asyncio.Semaphore:
    """At most ``login_db_concurrency`` sign-in transactions at once (per event loop): a flood of
    sign-ins waits here, in memory, and leaves the rest of the pool to ordinary requests."""
    loop = asyncio.get_running_loop()
    gate = _db_gates.get(loop)
    if gate is None:
        gate = _db_gates[loop] = asyncio.Semaphore(settings.login_db_concurrency)
    return gate


def _timed_verify(stored_hash: str | None, secret: str) -> tuple[bool, float]:
    start = time.perf_counter()
    ok = verify_secret(stored_hash, secret)
    return ok, time.perf_counter() - start


@dataclass(frozen=True)
class Principal:
    subject: uuid.UUID
    role: str
    client_id: uuid.UUID | None
    label: str
    kind: users.AccountKind = "user"  # a person (users) or a machine client (api_clients)
    token_version: int = 0

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_client(self) -> bool:
        return self.role in CLIENT_ROLES

    def can_see_client(self, client_id: uuid.UUID) -> bool:
        return self.is_staff or self.client_id == client_id

    def require_client(self, client_id: uuid.UUID, what: str = "object") -> None:
        """Tenant filter: another tenant's object does not exist (404)."""
        if not self.can_see_client(client_id):
            raise NotFound(f"{what} not found")

    def client_for(self, given: uuid.UUID | None, field: str = "client_id") -> uuid.UUID:
        """The client a request is for (issue 14): ``given`` (another tenant's is 404), or, left out,
        a client token's own; a staff token must give it (422 naming the field)."""
        if given is None:
            if self.client_id is None:
                raise ValidationFailed(f"{field} is required: a staff token names the client", field=field)
            return self.client_id
        self.require_client(given, "client")
        return given


def create_access_token(principal: Principal) -> tuple[str, int]:
    settings = get_settings()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(principal.subject),
        "role": principal.role,
        "cid": str(principal.client_id) if principal.client_id else None,
        "name": principal.label,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + settings.token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "knd": principal.kind,
        "ver": principal.token_version,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), settings.token_ttl_seconds


# Tokens already verified by this process: (token, key) -> (principal, not before, expiry). A token's
# claims are fixed by its signature, so checking it once per process is enough; its times are checked
# on every use, and the account's liveness (``ensure_live``) is still read from the database each
# request. Bounded: the oldest entries go first.
_VERIFIED: OrderedDict[tuple[str, str], tuple[Principal, int, int]] = OrderedDict()
_VERIFIED_MAX = 4096


def decode_access_token(token: str) -> Principal:
    settings = get_settings()
    key = (token, settings.secret_key)
    hit = _VERIFIED.get(key)
    if hit is not None:
        principal, not_before, expires = hit
        if not_before <= time.time() < expires:
            _VERIFIED.move_to_end(key)
            return principal
        _VERIFIED.pop(key, None)  # (a sign-in thread may have dropped it meanwhile)
    principal, not_before, expires = _verify(token, settings)
    _VERIFIED[key] = (principal, not_before, expires)
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return principal


def _verify(token: str, settings: Settings) -> tuple[Principal, int, int]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("unsupported token algorithm")
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require_exp": True, "require_iat": True, "require_sub": True, "require_aud": True, "require_iss": True},
        )
        kind, version = claims.get("knd", "user"), claims["ver"]
        if kind not in ("user", "client") or not isinstance(version, int) or isinstance(version, bool):
            raise Unauthorized("invalid token claims")
        principal = Principal(
            subject=uuid.UUID(claims["sub"]),
            role=str(claims["role"]),
            client_id=uuid.UUID(claims["cid"]) if claims.get("cid") else None,
            label=str(claims.get("name") or claims["sub"]),
            kind=kind,
            token_version=version,
        )
        # a client role always carries its tenant, a staff role never does
        if principal.role not in ROLES or principal.is_client != (principal.client_id is not None):
            raise Unauthorized("invalid token claims")
        return principal, int(claims.get("nbf") or claims["iat"]), int(claims["exp"])
    except (JWTError, KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("invalid or expired token") from exc


_bearer = HTTPBearer(auto_error=False)


async def ensure_live(session: AsyncSession, principal: Principal, *, allow_locked: bool = False) -> None:
    """Refuse (401) a token whose account was disabled, deleted, or whose sessions were ended; and
    (403) one whose temporary password must be changed first, unless ``allow_locked``."""
    live = await users.live_account(session, principal.kind, principal.subject)
    if live is None or live.token_version != principal.token_version:
        raise Unauthorized("this session has ended; sign in again")
    if live.locked and not allow_locked:
        raise Forbidden("change your temporary password first (POST /v1/auth/password)", field="password")


async def current_principal(
    request: Request, session: SessionDep, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    principal = decode_access_token(creds.credentials)
    await ensure_live(session, principal)
    request.state.principal = principal
    return principal


async def current_principal_unbound(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """As :func:`current_principal`, checked in a transaction of its own that ends before the route
    runs: for routes that hash (password change) and must not hold a connection meanwhile."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    principal = decode_access_token(creds.credentials)
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        # the one place a temporary password is still good: changing it
        await ensure_live(session, principal, allow_locked=True)
    request.state.principal = principal
    return principal


def client_address(request: Request) -> str | None:
    """The address a login is throttled by: the ASGI peer. X-Forwarded-For is never read here; a
    deployment behind a proxy has the server rewrite the peer from it for trusted proxies only
    (uvicorn --forwarded-allow-ips; its default trusts 127.0.0.1 alone)."""
    return request.client.host if request.client else None


def login_limits(settings: Settings) -> users.LoginLimits:
    return users.LoginLimits(
        settings.login_account_max_failures, settings.login_address_max_failures, settings.login_failure_window_seconds
    )


async def _check_secrets(settings: Settings, candidates: list[users.Candidate], secret: str) -> list[users.Candidate]:
    """The candidates the secret opens. Every candidate is checked (at least one hash even with
    none), and the answer is padded to ``login_timing_candidates`` hash-times by waiting, so that
    neither an unknown name nor an email shared by several logins shows in the timing."""
    matches: list[users.Candidate] = []
    spent = 0.0
    to_check: list[users.Candidate | None] = list(candidates) or [None]
    for candidate in to_check:
        ok, took = await _in_hash_pool(settings, _timed_verify, candidate.secret_hash if candidate else None, secret)
        spent += took
        if ok and candidate is not None:
            matches.append(candidate)
    checks = max(len(candidates), 1)
    pad = spent / checks * max(settings.login_timing_candidates - checks, 0)
    if pad > 0:
        await asyncio.sleep(pad)
    return matches


async def authenticate(request: Request, kind: users.AccountKind, name: str, secret: str) -> Principal:
    """The one use-case "sign in with a password (or a client secret)", for the API and the admin.

    Refused with 429 (TooManyAttempts) past the per-account or per-address limit *before* any
    hashing, and with 401 for a wrong or ambiguous secret; unknown names are treated exactly like
    known ones. No database connection is held while hashing.
    """
    settings: Settings = request.app.state.settings
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    address = client_address(request)
    account = name.strip().lower() if kind == "user" else "client:" + name
    throttled: users.TooManyAttempts | None = None
    async with _db_gate(settings), maker() as session, session.begin():
        candidates = await (
            users.password_candidates(session, name) if kind == "user" else users.api_client_candidates(session, name)
        )
        try:
            await users.reserve_login_attempt(session, account, address, login_limits(settings))
        except users.TooManyAttempts as exc:
            throttled = exc  # the count is committed all the same
    if throttled is not None:
        raise throttled
    matches = await _check_secrets(settings, candidates, secret)
    if len(matches) != 1:
        if len(matches) > 1:
            logger.warning("a password opens %d logins sharing one email; refused", len(matches))
        raise Unauthorized("wrong username or password" if kind == "user" else "wrong client_id or client_secret")
    found = matches[0]
    async with _db_gate(settings), maker() as session, session.begin():
        await users.login_succeeded(session, account, address)
        if found.kind == "client":
            await api_credentials.mark_used(session, found.id)  # last use: once per token, not per request
    return Principal(found.id, found.role, found.client_id, found.label, found.kind, found.token_version)


async def verify_own_password(request: Request, principal: Principal, secret: str) -> None:
    """The signed-in user's current password, under the same throttle as a sign-in (401 if wrong)."""
    settings: Settings = request.app.state.settings
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    address = client_address(request)
    throttled: users.TooManyAttempts | None = None
    stored: str | None = None
    async with _db_gate(settings), maker() as session, session.begin():
        stored = await users.password_hash_of(session, principal.subject)
        try:
            await users.reserve_login_attempt(session, principal.label, address, login_limits(settings))
        except users.TooManyAttempts as exc:
            throttled = exc
    if throttled is not None:
        raise throttled
    ok, _ = await _in_hash_pool(settings, _timed_verify, stored, secret)
    if not ok:
        raise Unauthorized("the current password is wrong", field="current_password")
    async with _db_gate(settings), maker() as session, session.begin():
        await users.login_succeeded(session, principal.label, address)


async def metrics_reader(
    request: Request, session: SessionDep, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    """/metrics: the scrape token from the settings (compared in constant time), or a live staff
    token; anonymous callers get 401, client roles 403."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    scrape = request.app.state.settings.metrics_token
    if scrape is not None and hmac.compare_digest(creds.credentials.encode(), scrape.get_secret_value().encode()):
        return
    principal = decode_access_token(creds.credentials)
    await ensure_live(session, principal)
    if not principal.is_staff:
        raise Forbidden("metrics are for facility staff and the scrape token")


# The roles each principal dependency lets through. service/openapi_docs.py reads it from a route's
# dependencies to document every operation (`x-roles` and its description): the roles a client
# developer reads are the ones the code enforces, never a hand-written list that drifts.
GATE_ROLES: dict[Any, tuple[str, ...]] = {
    current_principal: tuple(ROLES),
    current_principal_unbound: tuple(ROLES),
    metrics_reader: tuple(STAFF_ROLES),
}
# `openapi_extra=PUBLIC` on a route that needs no token at all (a sign-in, a Stripe webhook): said
# on purpose, so that a route that forgot its role gate is caught by tests/test_openapi_docs.py
PUBLIC: dict[str, Any] = {"x-roles": []}


def role_gate(base: Any, roles: tuple[str, ...], what: str = "action") -> Any:
    """A dependency: the principal from ``base``, refused (403) unless it has one of ``roles``."""

    async def dep(principal: Principal = Depends(base)) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this {what} needs one of the roles: {', '.join(roles)}")
        return principal

    GATE_ROLES[dep] = tuple(roles)
    return Depends(dep)


def require_roles(*roles: str) -> Any:
    return role_gate(current_principal, roles)


AnyUser = Annotated[Principal, Depends(current_principal)]
# a live principal whose check does not hold a connection for the rest of the request
UnboundUser = Annotated[Principal, Depends(current_principal_unbound)]
MetricsReader = Annotated[None, Depends(metrics_reader)]
StaffUser = Annotated[Principal, require_roles(Role.ADMIN, Role.FACILITY_STAFF)]
StaffOrFinance = Annotated[Principal, require_roles(*STAFF_ROLES)]
FinanceUser = Annotated[Principal, require_roles(Role.ADMIN, Role.FINANCE)]
AdminUser = Annotated[Principal, require_roles(Role.ADMIN)]
# staff or the client's admin; tenant checks happen on the object
ClientWriter = Annotated[Principal, require_roles(Role.ADMIN, Role.FACILITY_STAFF, Role.CLIENT_ADMIN)]
# may read a tenant's objects: staff, finance, and the client's own users
TenantReader = Annotated[Principal, require_roles(*ROLES)]
