"""The FastAPI application: API routers, admin pages, error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
            _bind(app, database_url or resolve_database_url(settings.data_dir, settings.database_url))
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
        _bind(app, database_url)
    install_error_handlers(app)

    from service.api import auth, clients, leases, ops, sites, users

    for module in (auth, sites, clients, leases, ops, users):
        app.include_router(module.router)
    _include_optional(app)
    return app


def _bind(app: FastAPI, database_url: str) -> None:
    app.state.engine = make_engine(database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.database_url = database_url


def _include_optional(app: FastAPI) -> None:
    """Routers of the billing, provisioning and admin parts (each registers itself here)."""
    import importlib

    for name in ("service.api.billing", "service.api.provisioning", "service.admin.routes"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.install(app)
