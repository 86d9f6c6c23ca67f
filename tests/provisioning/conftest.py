"""Fixtures of the provisioning tests: real SCIM server, badge receiver, FreeRADIUS, reconcilers."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.config import ProvisioningConfig
from provisioning.reconciler import Reconciler
from provisioning.worker import make_reconciler
from service.db import make_engine, make_sessionmaker
from service.dburl import connect
from service.embedded import with_database
from tests.provisioning import freeradius
from tests.provisioning.servers import BadgeReceiver, FlakyScim, ThreadServer

BADGE_SECRET = "whsec-test-" + uuid.uuid4().hex
RADIUS_SCHEMA = freeradius.PACKAGED / "mods-config" / "sql" / "main" / "postgresql" / "schema.sql"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def scim() -> Iterator[tuple[FlakyScim, str]]:
    app = FlakyScim()
    server = ThreadServer(app).start()
    yield app, server.url + "/v2"
    server.stop()


@pytest.fixture(scope="session")
def badges() -> Iterator[tuple[BadgeReceiver, str]]:
    receiver = BadgeReceiver(BADGE_SECRET)
    server = ThreadServer(receiver).start()
    yield receiver, server.url + "/webhooks/seatlease"
    server.stop()


@pytest.fixture(scope="session")
def radius_db(server_url: str) -> Iterator[str | None]:
    """A database laid out with FreeRADIUS's own PostgreSQL schema (None when it is not installed)."""
    if not RADIUS_SCHEMA.exists():
        yield None
        return
    name = f"radius_{uuid.uuid4().hex[:10]}"
    admin = with_database(server_url, "postgres")

    async def setup() -> None:
        conn = await connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        conn = await connect(with_database(server_url, name))
        await conn.execute(RADIUS_SCHEMA.read_text())
        await conn.close()

    async def drop() -> None:
        conn = await connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(setup())
    yield with_database(server_url, name)
    asyncio.run(drop())


@pytest.fixture(scope="session")
def radius_server(radius_db: str | None) -> Iterator[freeradius.FreeRadius]:
    if radius_db is None or not freeradius.available():
        pytest.skip("FreeRADIUS is not installed (apt-get install freeradius freeradius-postgresql freeradius-utils)")
    url = _plain(radius_db)
    host = url.split("host=", 1)[1].split("&")[0] if "host=" in url else "127.0.0.1"
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    user = url.split("//", 1)[1].split(":", 1)[0].split("@", 1)[0] or "postgres"
    work = Path(tempfile.mkdtemp(prefix="seatlease-radius-"))
    server = freeradius.start(work, f"host={host} dbname={dbname} user={user}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def maker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=10)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def prov_config(
    app: FastAPI, scim: tuple[FlakyScim, str], badges: tuple[BadgeReceiver, str], radius_db: str | None
) -> Callable[..., ProvisioningConfig]:
    def make(**overrides: Any) -> ProvisioningConfig:
        values: dict[str, Any] = dict(
            secret_key=app.state.settings.secret_key,
            scim_base_url=scim[1],
            badge_webhook_url=badges[1],
            badge_webhook_secret=BADGE_SECRET,
            radius_database_url=radius_db,
            backoff_base_seconds=0.05,
            backoff_cap_seconds=0.4,
            max_attempts=4,
            failed_retry_seconds=0.6,
            delete_grace_seconds=3600,
            mass_revoke_share=1.0,
            sweep_interval_seconds=3600,
            http_timeout_seconds=5.0,
        )
        values.update(overrides)
        return ProvisioningConfig(**values)

    return make


@pytest.fixture
async def reconcilers(
    maker: async_sessionmaker[AsyncSession], prov_config: Callable[..., ProvisioningConfig]
) -> AsyncIterator[Callable[..., Reconciler]]:
    made: list[Reconciler] = []

    def make(**overrides: Any) -> Reconciler:
        rec = make_reconciler(maker, prov_config(**overrides))
        made.append(rec)
        return rec

    yield make
    for rec in made:
        for p in rec.providers.values():
            await p.aclose()
