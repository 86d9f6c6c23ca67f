"""Passwords (Argon2), JWTs (python-jose, HS256 fixed server-side) and the typed principals."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt

from domain.errors import Forbidden, NotFound, Unauthorized
from domain.models.user import CLIENT_ROLES, STAFF_ROLES
from service.settings import get_settings

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


@dataclass(frozen=True)
class Principal:
    subject: uuid.UUID
    role: str
    client_id: uuid.UUID | None
    label: str

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
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), settings.token_ttl_seconds


def decode_access_token(token: str) -> Principal:
    settings = get_settings()
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
            options={"require_exp": True, "require_iat": True, "require_sub": True, "require_aud": True,
                     "require_iss": True},
        )
        principal = Principal(
            subject=uuid.UUID(claims["sub"]),
            role=str(claims["role"]),
            client_id=uuid.UUID(claims["cid"]) if claims.get("cid") else None,
            label=str(claims.get("name") or claims["sub"]),
        )
        # a client role always carries its tenant, a staff role never does
        if principal.role not in (*STAFF_ROLES, *CLIENT_ROLES) or principal.is_client != (principal.client_id is not None):
            raise Unauthorized("invalid token claims")
        return principal
    except (JWTError, KeyError, ValueError) as exc:
        raise Unauthorized("invalid or expired token") from exc


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    principal = decode_access_token(creds.credentials)
    request.state.principal = principal
    return principal


def role_gate(base: Any, roles: tuple[str, ...], what: str = "action") -> Any:
    """A dependency: the principal from ``base``, refused (403) unless it has one of ``roles``."""

    async def dep(principal: Principal = Depends(base)) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this {what} needs one of the roles: {', '.join(roles)}")
        return principal

    return Depends(dep)


def require_roles(*roles: str) -> Any:
    return role_gate(current_principal, roles)


AnyUser = Annotated[Principal, Depends(current_principal)]
StaffUser = Annotated[Principal, require_roles("admin", "facility_staff")]
StaffOrFinance = Annotated[Principal, require_roles("admin", "facility_staff", "finance")]
FinanceUser = Annotated[Principal, require_roles("admin", "finance")]
AdminUser = Annotated[Principal, require_roles("admin")]
# staff or the client's admin; tenant checks happen on the object
ClientWriter = Annotated[Principal, require_roles("admin", "facility_staff", "client_admin")]
# may read a tenant's objects: staff, finance, and the client's own users
TenantReader = Annotated[
    Principal, require_roles("admin", "facility_staff", "finance", "client_admin", "client_viewer")
]
