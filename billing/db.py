"""Access to the asyncpg connection under a SQLAlchemy session, for bulk SQL in the session's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's current transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection
