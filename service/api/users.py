"""Logins: staff (admin) and a client's admin disable or enable them; disabling ends their sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from domain.models.user import Role
from domain.services import users
from domain.services.user_schemas import UserOut, UserUpdate
from service.auth import Principal, require_roles
from service.db import SessionDep

router = APIRouter(prefix="/v1", tags=["users"])

UserAdmin = Annotated[Principal, require_roles(Role.ADMIN, Role.CLIENT_ADMIN)]


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: uuid.UUID, body: UserUpdate, user: UserAdmin, session: SessionDep) -> UserOut:
    """`{"active": false}` disables a login and ends its sessions at once; `true` enables it again.
    An admin manages every login; a client_admin only its own tenant's (any other is 404)."""
    row = await users.get_user(session, user_id, tenant=user.client_id, staff=user.is_staff)
    return UserOut.model_validate(await users.set_active(session, user, row, body.active))
