"""The FastAPI application: API routers, admin pages, error handling."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import console, openapi_docs
from service.admin import routes as admin
from service.api import (
    api_credentials,  # --- people and keys (issue 13) ---
    auth,
    billing,
    clients,
    documents,
    helpdesk_kpis,  # --- help desk KPIs (issue 15) ---
    lease_changes,
    lease_renewal,
    leases,
    ops,
    payments,
    proposals,
    provisioning,
    revenue_reports,
    sites,
    terms,
    users,
)
from service.api import collections as collections_api  # --- collections (issue 12) ---
from service.api import device_desk as device_desk_api  # --- help desk: devices and money (issue 15) ---
from service.api import floor_plan as floor_plan_api  # --- floor-plan editor (issue 13) ---
from service.api import integrations as integrations_api  # --- integrations (issue 13) ---
from service.api import scim_tokens as scim_token_api  # --- client SCIM (issue 14) ---
from service.api import setup as setup_api  # --- set-up pages (issue 13) ---
from service.api import sla_policies as sla_policies_api  # --- help desk staff side (issue 15) ---
from service.api import tickets as tickets_api  # --- tickets (issue 15) ---
from service.api import webhooks as webhooks_api  # --- webhooks (issue 14) ---
from service.db import engine_for, make_sessionmaker
from service.errors import install_error_handlers
from service.portal import routes as portal
from service.schema import DatabaseUnreachable, DatabaseUrlMissing, require_current_schema
from service.scim import routes as scim_routes  # --- client SCIM (issue 14) ---
from service.settings import Settings, get_settings, require_secret_key

logger = logging.getLogger("seatlease.api")


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    """The app; raises SecretKeyMissing without a usable SEATLEASE_SECRET_KEY (no known key, ever).

    On DATABASE_URL (``database_url`` overrides it); never an embedded database (`seatlease up`
    passes its own). Its start-up refuses a schema other than the code's (SchemaNotCurrent); a
    database that does not answer yet is only logged: requests answer 503 until it does."""
    settings = settings or get_settings()
    require_secret_key(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "engine"):
            if not settings.database_url:
                raise DatabaseUrlMissing()
            _bind(app, settings.database_url, settings)
        if not getattr(app.state, "schema_checked", False):
            await check_schema_at_start(app.state.database_url, settings)
            app.state.schema_checked = True
        # --- floor-plan editor (issue 13): the objects alive after start-up (modules, routes,
        # templates) live as long as the process; moved out of the collector's reach, a full
        # collection no longer walks them in the middle of a request (bench_floor_editor.py: the
        # 1,000-seat pages' p99 fell from ~110-160 ms to ~20 ms, p50 unchanged) ---
        gc.collect()
        gc.freeze()
        yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="seatlease",
        version="1.0.0",
        description="Seat leasing for a BPO facility: seats, leases, provisioning, billing.",
        lifespan=lifespan,
        # --- console (issue 13): /docs from the app's own Swagger UI (service/console.py), no CDN ---
        docs_url=None,
        redoc_url=None,
        # --- API polish (issue 14): operation ids are the route functions' names (service/openapi_docs.py) ---
        generate_unique_id_function=openapi_docs.operation_id,
    )
    app.state.settings = settings
    if database_url:
        _bind(app, database_url, settings)
    install_error_handlers(app)

    for module in (auth, sites, clients, leases, lease_renewal, lease_changes, ops, users, proposals, terms, documents):
        app.include_router(module.router)
    # --- collections (issue 12): the journal export, the overdue list ---
    app.include_router(collections_api.router)
    # --- revenue reports (issue 12) ---
    app.include_router(revenue_reports.router)
    # --- set-up pages (issue 13): floors, zones, shifts, a plan's inclusions ---
    app.include_router(setup_api.router)
    # --- floor-plan editor (issue 13) ---
    app.include_router(floor_plan_api.router)
    # --- people and keys (issue 13): API credentials ---
    app.include_router(api_credentials.router)
    # --- integrations (issue 13) ---
    app.include_router(integrations_api.router)
    # --- client SCIM (issue 14): /scim/v2/clients/{id}/… and its token's API ---
    scim_routes.install(app)
    app.include_router(scim_token_api.router)
    # --- webhooks (issue 14): endpoints, secrets, delivery logs ---
    app.include_router(webhooks_api.router)
    # --- tickets (issue 15): the help desk's tickets, comments, attachments, history ---
    app.include_router(tickets_api.router)
    # --- help desk: devices and money (issue 15): device history, swaps, downtime credits ---
    app.include_router(device_desk_api.router)
    # --- help desk staff side (issue 15): the SLA targets ---
    app.include_router(sla_policies_api.router)
    # --- help desk KPIs (issue 15) ---
    app.include_router(helpdesk_kpis.router)
    # billing, provisioning and the admin ship in this package: they are always there
    for part in (billing, payments, provisioning, admin):  # payments: issue 12
        part.install(app)
    # --- client portal (issue 14): after the admin, whose headers and static files it shares ---
    portal.install(app)
    # --- console (issue 13): `/`, the favicon, /docs served locally ---
    console.install(app)
    # --- API polish (issue 14): every operation's roles in /openapi.json, read from its role gate ---
    openapi_docs.install(app)
    return app


async def check_schema_at_start(database_url: str, settings: Settings) -> None:
    """Raise SchemaNotCurrent when the schema is not the code's; a silent database is only logged."""
    try:
        await require_current_schema(database_url, application_name="api", connect_timeout=settings.db_connect_timeout_seconds)
    except DatabaseUnreachable as exc:
        logger.warning("%s; starting anyway (requests answer 503 until it answers; the schema is not checked)", exc)


def _bind(app: FastAPI, database_url: str, settings: Settings) -> None:
    app.state.engine = engine_for(database_url, settings, "api")
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.database_url = database_url
