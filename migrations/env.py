"""Alembic environment: async engine, constraint naming convention, lock_timeout."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import domain.models  # noqa: F401  (registers every table)
from domain.models.base import Base
from service.db import engine_arguments

config = context.config
target_metadata = Base.metadata


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # the GiST index behind the no-double-booking exclusion constraint lives only in SQL
    return not (type_ == "index" and name == "ex_lease_seats_no_double_booking")


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        # a migration waits at most this long for a lock instead of stalling live traffic
        context.execute("SET lock_timeout = '10s'")
        context.run_migrations()


async def run_async_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    # DATABASE_URL as operators write it (sslmode, connect_timeout, ...), translated as every engine's;
    # no statement timeout (a migration may rewrite a big table), the lock timeout is set below
    sa_url, connect_args = engine_arguments(
        url,
        application_name=config.attributes.get("application_name", "cli"),
        statement_timeout_ms=0,
        lock_timeout_ms=0,
    )
    engine = create_async_engine(sa_url, poolclass=pool.NullPool, connect_args=connect_args)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        do_run_migrations(connectable)
    else:
        asyncio.run(run_async_migrations())
