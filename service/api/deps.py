"""Shared helpers of the routers: paging, and the strict query parameter types."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from service.api.schemas import PERIOD_PATTERN, UUID_PATTERN, SafeDate, SafeDateTime

Limit = Annotated[int, Query(ge=1, le=500)]
# the `next_cursor` of a previous page: the last id of that page
Cursor = Annotated[str | None, Query(pattern=UUID_PATTERN, description="`next_cursor` of the previous page")]
# query dates are `YYYY-MM-DD` strings between 2000-01-01 and 2200-12-31, as in bodies
QueryDate = SafeDate
QueryDateTime = SafeDateTime
Period = Annotated[str, Query(pattern=PERIOD_PATTERN, examples=["2031-01"])]


async def paginate(
    session: AsyncSession, stmt: Select[Any], id_col: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Keyset paging on the id: `next_cursor` is the last id of the page."""
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
