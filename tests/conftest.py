"""Fixtures that start real peers: an embedded PostgreSQL, migrated with Alembic once per run."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from service.auth import hash_secret
from service.dburl import connect_kwargs
from service.embedded import start_embedded, to_async_url, with_database
from service.migrate import upgrade
from tests.factories import Api, ClientLogin

# the live server and headless Chromium of the admin's and the portal's browser tests
pytest_plugins = ["tests.browser"]

# every server needs a real key (no default exists); one per run, for this process and the CLI it starts
os.environ["SEATLEASE_SECRET_KEY"] = secrets.token_urlsafe(48)

TEST_DATA_DIR = Path(os.environ.get("SEATLEASE_TEST_DATA_DIR", "/tmp/seatlease-test"))
# Billing runs bill every client of a month, so tests bill far-future months of their own; the
# window for runs ahead of time (default 10 days) is tested at its default in tests/billing/test_billing_window.py.
# 62,000 days reach 2196: the suite's years (tests/billing/conftest.py `fresh_year`, from 2040) stay
# within what a period may be (up to 2200) and what the window lets a run bill.
os.environ.setdefault("SEATLEASE_BILLING_ADVANCE_DAYS", "62000")
# The session's shared logins (`admin`, `staff`, `finance` below) sign in once; the suite runs longer
# than the default 15-minute token, so tokens live an hour here. Expiry itself is tested with tokens
# made to expire (tests/test_auth.py).
os.environ.setdefault("SEATLEASE_TOKEN_TTL", "3600")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _on_server(server_url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(**connect_kwargs(with_database(server_url, "postgres"), application_name="tests"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def create_database(server_url: str, name: str) -> str:
    """An empty database on the test server; returns its asyncpg URL."""
    _on_server(server_url, f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server_url() -> str:
    """The PostgreSQL server: DATABASE_URL when set, else the embedded one."""
    if os.environ.get("DATABASE_URL"):
        return to_async_url(os.environ["DATABASE_URL"])
    return start_embedded(TEST_DATA_DIR, fast_unsafe=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this test run, migrated with the real migrations."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name)
    upgrade(url)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def app(database_url: str) -> FastAPI:
    from service.app import create_app

    return create_app(database_url=database_url)


@pytest.fixture(scope="session")
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(**connect_kwargs(database_url, application_name="tests"), min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture(autouse=True)
async def _forget_failed_sign_ins(db: asyncpg.Pool) -> None:
    """Each test starts with no failed sign-ins on record. Tests that try wrong passwords on purpose
    (a disabled login, a spent reset link, the admin's form) come from the same loopback address,
    and 20 of them within the 15-minute window would throttle a later, unrelated test's sign-in.
    The throttle's own tests (tests/test_login_flood.py) count within one test, from fresh addresses."""
    await db.execute("DELETE FROM login_failures")


async def make_user(
    db: asyncpg.Pool, role: str, client_id: uuid.UUID | None = None, password: str = "correct horse battery"
) -> tuple[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@seatlease-example.com"
    await db.execute(
        "INSERT INTO users (id, email, password_hash, role, client_id) VALUES ($1, $2, $3, $4, $5)",
        uuid.uuid4(),
        email,
        hash_secret(password),
        role,
        client_id,
    )
    return email, password


async def token_for(http: httpx.AsyncClient, email: str, password: str) -> str:
    r = await http.post("/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="session")
async def admin(http: httpx.AsyncClient, db: asyncpg.Pool) -> Api:
    return Api(http, await token_for(http, *await make_user(db, "admin")))


@pytest.fixture(scope="session")
async def staff(http: httpx.AsyncClient, db: asyncpg.Pool) -> Api:
    return Api(http, await token_for(http, *await make_user(db, "facility_staff")))


@pytest.fixture(scope="session")
async def finance(http: httpx.AsyncClient, db: asyncpg.Pool) -> Api:
    return Api(http, await token_for(http, *await make_user(db, "finance")))


@pytest.fixture
async def client_login(http: httpx.AsyncClient, db: asyncpg.Pool) -> ClientLogin:
    """A factory: a logged-in API for a client user of the given client."""

    async def login(client_id: str, role: str = "client_admin") -> Api:
        return Api(http, await token_for(http, *await make_user(db, role, uuid.UUID(client_id))))

    return login


class MigrationDb:
    """A fresh database of its own, migrated step by step by a test of a data-moving migration."""

    def __init__(self, server_url: str, name: str) -> None:
        from service.migrate import alembic_config

        self.server_url, self.name = server_url, name
        self.config = alembic_config(with_database(server_url, name))

    def upgrade(self, revision: str) -> None:
        from alembic import command

        command.upgrade(self.config, revision)

    def downgrade(self, revision: str) -> None:
        from alembic import command

        command.downgrade(self.config, revision)

    def sql(self, statement: str, *args: object) -> list[asyncpg.Record]:
        return asyncio.run(self._fetch(self.name, statement, *args))

    async def _fetch(self, database: str, statement: str, *args: object) -> list[asyncpg.Record]:
        from service.dburl import connect

        conn = await connect(with_database(self.server_url, database))
        try:
            return list(await conn.fetch(statement, *args))
        finally:
            await conn.close()


@pytest.fixture
def migration_db(server_url: str) -> Iterator[MigrationDb]:
    """An empty database (no revision yet): the test upgrades it to the revision before the one it
    tests, seeds it, upgrades, checks; dropped afterwards."""
    db = MigrationDb(server_url, f"migration_{uuid.uuid4().hex[:10]}")
    asyncio.run(db._fetch("postgres", f'CREATE DATABASE "{db.name}"'))
    try:
        yield db
    finally:
        asyncio.run(db._fetch("postgres", f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))
