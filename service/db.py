"""Engine and sessions. One request or one job is one transaction.

The engine degrades instead of breaking: a bounded wait for a pooled connection, a bounded connect,
statement and lock timeouts on the server, connections checked before use when they have been idle
(so a restarted PostgreSQL needs no restart of ours), and every way of "the database is not there" surfaces as a
SQLAlchemy `DBAPIError` that `service.errors` answers with 503 + `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from sqlalchemy import URL, event, exc
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from service.dburl import parse_database_url
from service.settings import Settings

Role = Literal["api", "worker", "cli"]

# network failures below the driver: asyncpg lets these through untranslated
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError, EOFError)


def engine_arguments(
    url: str,
    *,
    application_name: str,
    connect_timeout: float = 5.0,
    statement_timeout_ms: int = 30_000,
    lock_timeout_ms: int = 10_000,
) -> tuple[URL, dict[str, Any]]:
    """The SQLAlchemy URL (no query: SQLAlchemy would pass each parameter to asyncpg as is) and the
    `connect_args` for DATABASE_URL-like ``url``, from `service.dburl` (the one translation)."""
    target = parse_database_url(url)
    args = target.connect_kwargs(
        application_name=application_name,
        connect_timeout=connect_timeout,
        server_settings={"statement_timeout": str(int(statement_timeout_ms)), "lock_timeout": str(int(lock_timeout_ms))},
    )
    sa_url = URL.create(
        "postgresql+asyncpg",
        username=target.user,
        password=target.password,
        host=None if (target.host or "").startswith("/") else target.host,
        port=target.port,
        database=target.database,
    )
    return sa_url, args


def make_engine(
    url: str,
    *,
    application_name: str = "seatlease",
    pool_size: int = 20,
    max_overflow: int = 20,
    pool_timeout: float = 5.0,
    connect_timeout: float = 5.0,
    statement_timeout_ms: int = 30_000,
    lock_timeout_ms: int = 10_000,
    ping_idle_seconds: float = 0.0,
) -> AsyncEngine:
    """`statement_timeout`/`lock_timeout` of 0 mean none (PostgreSQL's own meaning). ``url`` is
    DATABASE_URL as operators write it (see `service.dburl`); what it names wins over the arguments.
    A pooled connection is pinged before use when it has been idle ``ping_idle_seconds`` or more
    (0: before every use)."""
    sa_url, connect_args = engine_arguments(
        url,
        application_name=application_name,
        connect_timeout=connect_timeout,
        statement_timeout_ms=statement_timeout_ms,
        lock_timeout_ms=lock_timeout_ms,
    )
    engine = create_async_engine(
        sa_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=ping_idle_seconds <= 0,
        connect_args=connect_args,
    )
    _translate_network_errors(engine)
    if ping_idle_seconds > 0:
        _ping_when_idle(engine, ping_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use without a round trip, and ping it only when it has sat
    idle for ``idle_seconds``.

    A ping is a round trip, a sixth of a short request's. A connection that PostgreSQL closed (a
    restart, a terminated backend) is already known closed to the driver, which read the server's
    goodbye and the end of the socket: that check is free and is made every time. A connection that
    died silently (a network gone quiet) is caught by the ping once it has been idle long enough.
    Either way the pool discards it and checks out a fresh one (`DisconnectionError`), so the
    request never sees it. One that dies silently while in use fails its statement instead: a
    disconnect, so the pool drops every older connection, and that request answers 503."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["seatlease_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop("seatlease_idle_since", None)
        if since is None:
            return  # just connected
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")
        if time.monotonic() - since < idle_seconds:
            return  # just used
        try:
            dbapi_connection.ping()
        except Exception as error:  # whatever the driver raises, this connection is not usable
            raise exc.DisconnectionError(f"a pooled connection failed its ping: {type(error).__name__}") from error


def engine_for(url: str, settings: Settings, role: Role) -> AsyncEngine:
    """The engine of an API replica, a worker or a CLI command: its pool size from the settings,
    the same timeouts for all, and the process's name (`application_name`) unless the URL names one."""
    pool_size, max_overflow = {
        "api": (settings.db_pool_size, settings.db_max_overflow),
        "worker": (settings.worker_db_pool_size, settings.worker_db_max_overflow),
        "cli": (settings.cli_db_pool_size, settings.cli_db_max_overflow),
    }[role]
    return make_engine(
        url,
        application_name=role,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        lock_timeout_ms=settings.db_lock_timeout_ms,
        ping_idle_seconds=settings.db_ping_idle_seconds,
    )


def _translate_network_errors(engine: AsyncEngine) -> None:
    """A refused, reset or timed-out socket becomes a DBAPI `OperationalError` (a disconnect), as
    every other driver reports it, so the pool discards the connection and the app answers 503."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except NETWORK_ERRORS as error:
            raise dialect.loaded_dbapi.OperationalError(
                f"cannot connect to the database: {type(error).__name__}: {error}", error
            ) from error

    @event.listens_for(sync_engine, "handle_error")
    def _network(ctx: ExceptionContext) -> BaseException | None:
        if ctx.sqlalchemy_exception is None and isinstance(ctx.original_exception, NETWORK_ERRORS):
            ctx.is_disconnect = True
            return exc.OperationalError(
                ctx.statement,
                ctx.parameters,
                ctx.original_exception,  # type: ignore[arg-type]
                connection_invalidated=True,
            )
        return None


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the route returns, rolled back on error."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            # the connection is gone: nothing to roll back; the first error is the answer
            with contextlib.suppress(exc.DBAPIError):
                await session.rollback()
            raise


# scope="function": commit right after the route function, before the response is sent,
# so a failing commit (a constraint) becomes the answer instead of a lost write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
