"""Logins (issue 13: people and keys): list, create, disable or enable, reset a password.

Who may call: `admin` manages every login (staff and every client's); a `client_admin` manages its
own client's logins only (another tenant's are 404). facility_staff, finance and client_viewer get
403 here; every login changes its own password with `POST /v1/auth/password`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from domain.models.user import Role
from domain.schemas import Page
from domain.services import people, users
from domain.services.user_schemas import (
    PasswordResetOut,
    PasswordResetRequest,
    UserCreate,
    UserCreated,
    UserListItem,
    UserOut,
    UserUpdate,
)
from service.api.deps import Cursor, Limit
from service.auth import Principal, hash_secret_bounded, require_roles
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["users"])

UserAdmin = Annotated[Principal, require_roles(Role.ADMIN, Role.CLIENT_ADMIN)]
_ROLES = "Roles: admin (every login), client_admin (its own client's logins; any other is 404)."
_LIST_DOC = "Logins, filtered by role, client, active and part of the email, in pages. " + _ROLES
_CREATE_DOC = (
    "A login. Without `password` a temporary one is made and returned once (`temporary_password`): "
    "it must be changed at the first sign-in (until then every other call answers 403). A client_admin "
    "creates client_admin or client_viewer logins of its own client (`client_id` may be left out). "
    "Not idempotent: a temporary password is never stored for a replay. " + _ROLES
)
_UPDATE_DOC = (
    '`{"active": false}` disables a login and ends its sessions (API tokens and admin cookies) at once; '
    "`true` enables it again. Nobody disables their own login, nor the last active admin (409). " + _ROLES
)
_RESET_DOC = (
    "`link` (default): a one-time link valid for 24 hours, returned once (only its hash is kept); "
    "the user opens it, or calls `POST /v1/auth/password-reset`, to choose a new password; earlier "
    "links of the user stop working. `temporary_password`: a password returned once; every session "
    "of the user ends and the password must be changed at the next sign-in. " + _ROLES
)


@router.get("/users", response_model=Page[UserListItem], summary="List logins", description=_LIST_DOC)
async def list_users(
    user: UserAdmin,
    session: SessionDep,
    role: Role | None = None,
    client_id: uuid.UUID | None = None,
    active: bool | None = None,
    email: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00]*$", description="part of the address")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[UserListItem]:
    rows, nxt = await people.list_users(
        session,
        people.UserFilter(role=role, client_id=client_id, active=active, email=email),
        tenant=user.client_id,
        staff=user.is_staff,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[UserListItem.model_validate(r) for r in rows], next_cursor=nxt)


@router.post("/users", status_code=201, response_model=UserCreated, summary="Create a login", description=_CREATE_DOC)
async def create_user(body: UserCreate, request: Request, user: UserAdmin, session: SessionDep) -> UserCreated:
    client_id = body.client_id if user.is_staff or body.client_id else user.client_id
    people.check_may_manage_role(body.role, staff=user.is_staff, tenant=user.client_id, client_id=client_id)
    temporary = people.new_secret() if body.password is None else None
    password_hash = await hash_secret_bounded(request.app.state.settings, body.password or temporary or "")
    row = await people.create_login(
        session,
        user,
        email=body.email,
        password_hash=password_hash,
        role=body.role,
        client_id=client_id,
        temporary=temporary is not None,
    )
    await session.refresh(row)
    return UserCreated.model_validate({**UserListItem.model_validate(row).model_dump(), "temporary_password": temporary})


@router.patch("/users/{user_id}", response_model=UserOut, summary="Disable or enable a login", description=_UPDATE_DOC)
async def update_user(user_id: uuid.UUID, body: UserUpdate, user: UserAdmin, session: SessionDep) -> UserOut:
    row = await users.get_user(session, user_id, tenant=user.client_id, staff=user.is_staff)
    return UserOut.model_validate(await people.disable_or_enable(session, user, row, body.active))


@router.post(
    "/users/{user_id}/password-reset", response_model=PasswordResetOut, summary="Reset a login's password", description=_RESET_DOC
)
async def reset_password(
    user_id: uuid.UUID, body: PasswordResetRequest, request: Request, user: UserAdmin, session: SessionDep
) -> PasswordResetOut:
    row = await users.get_user(session, user_id, tenant=user.client_id, staff=user.is_staff)
    if body.method == "temporary_password":
        temporary = people.new_secret()
        await people.set_temporary_password(session, user, row, await hash_secret_bounded(request.app.state.settings, temporary))
        return PasswordResetOut(method="temporary_password", temporary_password=temporary)
    token, expires = await people.create_reset_link(session, user, row)
    # the token rides in the fragment: browsers never send it, so no access log ever holds it
    url = str(request.base_url).rstrip("/") + "/admin/password-reset#token=" + token
    return PasswordResetOut(method="link", reset_url=url, token=token, expires_at=expires)
