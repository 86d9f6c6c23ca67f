"""Access to the asyncpg connection under a SQLAlchemy session, for bulk SQL in the session's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection of the session's current transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs itself;
    statements sent straight to the driver before that would each commit on their own (no
    counter lock held, a batch half-written when a run is killed). So start it here."""
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")
    raw: Any = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        raise RuntimeError("the session has no transaction open for raw SQL")
    return raw
