"""Keyset paging on a uuid id, for the list queries of every aggregate."""

from __future__ import annotations

import operator
import uuid
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed


async def keyset_page(
    session: AsyncSession, stmt: Select[Any], id_col: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` in id order after ``cursor`` (the last id of the previous page), and
    the cursor of the next page (None on the last one)."""
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


# --- API polish (issue 14): lists sorted the way people read them, on stable cursors ---


async def sorted_keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: Any,
    id_col: Any,
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` in (``key``, id) order after ``cursor``, and the next page's cursor.

    The cursor stays what it always was, the last id of the previous page (the contract of
    :func:`keyset_page`); the page goes on after that row's place in the order, a keyset on both
    columns, so rows written meanwhile neither shift a walk nor come twice. ``key`` may be null:
    nulls sort last ascending and first descending (PostgreSQL's own placement). A cursor whose row
    is gone is a 422 naming `cursor`."""
    later = operator.lt if descending else operator.gt
    if cursor:
        try:
            after = uuid.UUID(cursor)
        except ValueError as exc:
            raise ValidationFailed("not a cursor from a previous page", field="cursor") from exc
        anchor = (await session.execute(select(key).where(id_col == after))).first()
        if anchor is None:
            raise ValidationFailed("not a cursor from a previous page (its row is gone); start again", field="cursor")
        value = anchor[0]
        if value is None:
            same = and_(key.is_(None), later(id_col, after))
            stmt = stmt.where(or_(same, key.is_not(None)) if descending else same)
        else:
            beyond = or_(later(key, value), and_(key == value, later(id_col, after)))
            stmt = stmt.where(beyond if descending else or_(beyond, key.is_(None)))
    order = (key.desc(), id_col.desc()) if descending else (key.asc(), id_col.asc())
    rows = list((await session.scalars(stmt.order_by(*order).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)
