"""The FastAPI application: API routers, admin pages, error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.admin import routes as admin
from service.api import auth, billing, clients, leases, ops, provisioning, sites, users
from service.db import make_engine, make_sessionmaker
from service.embedded import resolve_database_url
from service.errors import install_error_handlers
from service.settings import Settings, get_settings, require_secret_key


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    """The app; raises SecretKeyMissing without a usable SEATLEASE_SECRET_KEY (no known key, ever)."""
    settings = settings or get_settings()
    require_secret_key(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "engine"):
            _bind(app, database_url or resolve_database_url(settings.data_dir, settings.database_url), settings)
        yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="seatlease",
        version="1.0.0",
        description="Seat leasing for a BPO facility: seats, leases, provisioning, billing.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if database_url:
        _bind(app, database_url, settings)
    install_error_handlers(app)

    for module in (auth, sites, clients, leases, ops, users):
        app.include_router(module.router)
    # billing, provisioning and the admin ship in this package: they are always there
    for part in (billing, provisioning, admin):
        part.install(app)
    return app


def _bind(app: FastAPI, database_url: str, settings: Settings) -> None:
    app.state.engine = make_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        lock_timeout_ms=settings.db_lock_timeout_ms,
    )
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.database_url = database_url
