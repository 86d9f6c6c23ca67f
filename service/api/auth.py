"""Sign in (OAuth2 token endpoint), sign out everywhere, and change one's own password."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from domain.errors import ValidationFailed
from domain.models import ApiClient, User
from domain.services import people, users
from domain.services.audit import SystemActor
from domain.services.user_schemas import PasswordChange, PasswordResetUse
from service.auth import (
    PUBLIC,
    AnyUser,
    UnboundUser,
    authenticate,
    create_access_token,
    hash_secret_bounded,
    verify_own_password,
)
from service.db import SessionDep
from service.errors import TYPE_BASE, problem

router = APIRouter(prefix="/v1/auth", tags=["auth"])


# the OAuth2 token response (RFC 6749 section 5.1): the HTTP edge's own shape, no use-case's
class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def _throttled(exc: users.TooManyAttempts) -> JSONResponse:
    response = problem(exc.status, exc.title, exc.detail, type_=TYPE_BASE + exc.type_suffix, retry_after_seconds=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many failed attempts for this account or from this address: wait `Retry-After` seconds",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.post("/token", response_model=Token, responses=_THROTTLED, openapi_extra=PUBLIC)
async def issue_token(
    request: Request,
    grant_type: Annotated[Literal["password", "client_credentials"], Form()],
    username: Annotated[str | None, Form(max_length=320)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> Token | JSONResponse:
    """OAuth2 token endpoint: `password` grant for people, `client_credentials` for machines.

    Repeated failures for one account name or from one address are answered 429 with
    `Retry-After`, before any password is checked.
    """
    try:
        if grant_type == "password":
            if not username or not password:
                raise ValidationFailed("username and password are required", field="username")
            principal = await authenticate(request, "user", username, password)
        elif grant_type == "client_credentials":
            if not client_id or not client_secret:
                raise ValidationFailed("client_id and client_secret are required", field="client_id")
            principal = await authenticate(request, "client", client_id, client_secret)
        else:
            raise ValidationFailed("grant_type must be password or client_credentials", field="grant_type")
    except users.TooManyAttempts as exc:
        return _throttled(exc)
    token, ttl = create_access_token(principal)
    return Token(access_token=token, expires_in=ttl)


@router.post("/logout", status_code=204)
async def logout(user: AnyUser, session: SessionDep) -> Response:
    """End every session of the caller: all its tokens (and admin sessions) stop working at once."""
    if user.kind == "client":
        await users.end_api_client_sessions(session, user, await session.get_one(ApiClient, user.subject))
    else:
        await users.end_sessions(session, user, await session.get_one(User, user.subject))
    return Response(status_code=204)


@router.post("/password", status_code=204, responses=_THROTTLED)
async def change_password(body: PasswordChange, request: Request, user: UnboundUser) -> Response:
    """Change one's own password: every session issued before, this one included, ends."""
    if user.kind != "user":
        raise ValidationFailed("a machine client has a secret, not a password", field="current_password")
    try:
        await verify_own_password(request, user, body.current_password)
    except users.TooManyAttempts as exc:
        return _throttled(exc)
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    async with request.app.state.sessionmaker() as session, session.begin():
        row = await users.get_user(session, user.subject, tenant=None, staff=True)
        await users.change_password(session, user, row, new_hash)
    return Response(status_code=204)


# --- people and keys (issue 13): a one-time reset link, used ---
@router.post(
    "/password-reset",
    status_code=204,
    summary="Choose a new password with a reset link's token",
    openapi_extra=PUBLIC,
    description="No sign-in needed: the token of a link made by `POST /v1/users/{id}/password-reset`. "
    "Works once, within 24 hours (else 404: an unknown, used or expired link look alike); every session of the login ends.",
)
async def use_password_reset(body: PasswordResetUse, request: Request) -> Response:
    new_hash = await hash_secret_bounded(request.app.state.settings, body.new_password)
    async with request.app.state.sessionmaker() as session, session.begin():
        await people.use_reset_link(session, SystemActor("password-reset link"), body.token, new_hash)
    return Response(status_code=204)
