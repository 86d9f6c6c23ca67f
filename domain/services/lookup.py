"""Fetching one object by id, the same way for every aggregate."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.models.base import Base

M = TypeVar("M", bound=Base)


async def get_or_404(session: AsyncSession, model: type[M], object_id: uuid.UUID, what: str, *, for_update: bool = False) -> M:
    """The object (row-locked with ``for_update``), or NotFound (404) naming what was looked for."""
    obj = await session.get(model, object_id, with_for_update=for_update or None)
    if obj is None:
        raise NotFound(f"{what} not found")
    return obj
