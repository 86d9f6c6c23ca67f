"""Keyset paging on a uuid id, for the read-models that list pages of rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed


async def keyset_page(
    session: AsyncSession, stmt: Select[Any], id_col: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of `stmt` ordered by `id_col`; the cursor of the next page is the last id of this one."""
    if cursor:
        try:
            after = uuid.UUID(cursor)
        except ValueError as exc:
            raise ValidationFailed("not a cursor from a previous page", field="cursor") from exc
        stmt = stmt.where(id_col > after)
    rows = list((await session.scalars(stmt.order_by(id_col).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)
