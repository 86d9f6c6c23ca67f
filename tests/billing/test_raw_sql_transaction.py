"""Raw asyncpg statements under a session run inside the session's transaction.

SQLAlchemy's adapter sends BEGIN lazily; without `billing.db.driver` starting it, each raw
statement committed on its own, so a run killed mid-batch left invoices without their counter."""

from __future__ import annotations

import uuid

import asyncpg

from billing.db import driver
from service.db import make_engine, make_sessionmaker


class Rollback(Exception):
    pass


async def test_raw_statements_roll_back_with_the_session(database_url: str, db: asyncpg.Pool) -> None:
    engine = make_engine(database_url, pool_size=1)
    marker = f"TX{uuid.uuid4().hex[:8].upper()}"
    try:
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                conn = await driver(session)
                assert conn.is_in_transaction()
                await conn.execute(
                    "INSERT INTO sites (id, code, name, timezone, currency, tax_rate) "
                    "VALUES (gen_random_uuid(), $1, 'rolled back', 'UTC', 'USD', 0)",
                    marker,
                )
                raise Rollback
        except Rollback:
            pass
    finally:
        await engine.dispose()
    assert await db.fetchval("SELECT count(*) FROM sites WHERE code = $1", marker) == 0
