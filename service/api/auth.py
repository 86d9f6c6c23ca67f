from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.errors import Unauthorized, ValidationFailed
from domain.models import ApiClient, User
from service.api.schemas import Token
from service.auth import Principal, create_access_token, verify_secret
from service.db import SessionDep

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token", response_model=Token)
async def issue_token(
    session: SessionDep,
    grant_type: Annotated[Literal["password", "client_credentials"], Form()],
    username: Annotated[str | None, Form(max_length=320)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> Token:
    """OAuth2 token endpoint: `password` grant for people, `client_credentials` for machines."""
    if grant_type == "password":
        if not username or not password:
            raise ValidationFailed("username and password are required", field="username")
        user = await session.scalar(select(User).where(User.email == username.lower(), User.active.is_(True)))
        # Argon2 is deliberately slow: verify off the event loop so other requests keep flowing
        if not await run_in_threadpool(verify_secret, user.password_hash if user else None, password) or user is None:
            raise Unauthorized("wrong username or password")
        principal = Principal(user.id, user.role, user.client_id, user.email)
    elif grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise ValidationFailed("client_id and client_secret are required", field="client_id")
        api_client = await session.scalar(
            select(ApiClient).where(ApiClient.client_key == client_id, ApiClient.active.is_(True))
        )
        if (not await run_in_threadpool(verify_secret, api_client.secret_hash if api_client else None, client_secret)
                or api_client is None):
            raise Unauthorized("wrong client_id or client_secret")
        principal = Principal(api_client.id, api_client.role, api_client.client_id, f"client:{client_id}")
    else:
        raise ValidationFailed("grant_type must be password or client_credentials", field="grant_type")
    token, ttl = create_access_token(principal)
    return Token(access_token=token, expires_in=ttl)
