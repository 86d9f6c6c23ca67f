"""DATABASE_URL's TLS parameters against a real PostgreSQL that takes TLS connections only
(tests/tls_postgres.py), through every kind of connection: raw asyncpg, the engines, Alembic
(`seatlease migrate`), a running worker's LISTEN connection and a running API."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from service.db import make_engine
from service.dburl import connect
from tests.processes import free_port
from tests.tls_postgres import CERT_USER, TlsServer, tls_postgres

BIN = Path(sys.executable).parent
DB = "seatlease"


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsServer]:
    with tls_postgres() as server:
        asyncio.run(_create_database(server))
        yield server


async def _create_database(server: TlsServer) -> None:
    conn = await connect(server.verified())
    await conn.execute(f"CREATE DATABASE {DB}")
    await conn.close()


async def _ssl_of(url: str) -> tuple[bool, str]:
    conn = await connect(url)
    try:
        row = await conn.fetchrow("SELECT ssl, current_user AS who FROM pg_stat_ssl, current_user WHERE pid = pg_backend_pid()")
        return bool(row["ssl"]), str(row["who"])
    finally:
        await conn.close()


def _env(**over: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **over}


async def test_verify_full_with_the_right_ca_connects_encrypted(tls: TlsServer) -> None:
    for scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        assert await _ssl_of(tls.verified(scheme=scheme)) == (True, "seatlease")
    engine = make_engine(tls.verified(DB), application_name="tests")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).scalar() is True
    finally:
        await engine.dispose()


async def test_verify_full_refuses_another_ca_and_another_host_name(tls: TlsServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await connect(tls.url(query=f"sslmode=verify-full&sslrootcert={tls.other_ca}"))
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await connect(tls.url(query=f"sslmode=verify-ca&sslrootcert={tls.other_ca}"))
    # the certificate names localhost only: verify-full checks the name, verify-ca does not
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        await connect(tls.url(host="127.0.0.1", query=f"sslmode=verify-full&sslrootcert={tls.ca}"))
    assert await _ssl_of(tls.url(host="127.0.0.1", query=f"sslmode=verify-ca&sslrootcert={tls.ca}")) == (True, "seatlease")
    # require with a root certificate is verify-ca (libpq's rule)
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(tls.url(query=f"sslmode=require&sslrootcert={tls.other_ca}"))


async def test_encryption_only_modes_and_a_refused_plain_connection(tls: TlsServer) -> None:
    for query in ("sslmode=require", "ssl=require", "sslmode=prefer", "sslmode=allow&connect_timeout=5"):
        assert await _ssl_of(tls.url(host="127.0.0.1", query=query)) == (True, "seatlease"), query
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await connect(tls.url(query="sslmode=disable"))


async def test_a_client_certificate_logs_in(tls: TlsServer) -> None:
    url = f"postgresql://{CERT_USER}@localhost:{tls.port}/postgres?sslmode=verify-full&sslrootcert={tls.ca}"
    assert await _ssl_of(f"{url}&sslcert={tls.client_cert}&sslkey={tls.client_key}") == (True, CERT_USER)
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await connect(url)  # without it, pg_hba's `cert` has nothing to check


@pytest.fixture(scope="module")
def migrated(tls: TlsServer) -> str:
    """`seatlease migrate` over `?sslmode=require` (which used to crash every command)."""
    url = tls.url(DB, query="sslmode=require&connect_timeout=5", scheme="postgres")
    result = subprocess.run(
        [BIN / "seatlease", "migrate"], env=_env(DATABASE_URL=url), capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr
    return url


async def _activity(server: TlsServer) -> list[dict[str, Any]]:
    conn = await connect(server.verified(DB))
    try:
        rows = await conn.fetch(
            "SELECT a.application_name, a.query, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
            "WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
            DB,
        )
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def _until(predicate: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.3)


@pytest.fixture
def worker(tls: TlsServer, migrated: str) -> Iterator[subprocess.Popen[str]]:
    """A running `seatlease worker` on `?ssl=require` (its LISTEN connection used to fail forever)."""
    url = tls.url(DB, query="ssl=require")
    proc = subprocess.Popen(
        [BIN / "seatlease", "worker"],
        env=_env(DATABASE_URL=url, SEATLEASE_PROV_SWEEP_INTERVAL="600", SEATLEASE_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "cannot listen" not in err, err


async def test_a_running_worker_listens_over_tls_names_itself_and_wakes_on_notify(
    tls: TlsServer, worker: subprocess.Popen[str]
) -> None:
    async def listening() -> list[dict[str, Any]]:
        return [r for r in await _activity(tls) if r["query"].startswith("LISTEN")]

    listeners = await _until(listening)
    assert listeners, await _activity(tls)
    assert all(r["application_name"] == "worker" and r["ssl"] for r in listeners), listeners
    assert {r["application_name"] for r in await _activity(tls)} == {"worker"}
    assert all(r["ssl"] for r in await _activity(tls))

    conn = await connect(tls.verified(DB))
    try:

        async def passes() -> int:
            return int(await conn.fetchval("SELECT coalesce(max(passes), 0) FROM worker_liveness WHERE role = 'reconciler'"))

        first = await _until(passes)
        assert first >= 1
        await asyncio.sleep(1)
        assert await passes() == first  # the next sweep is 10 minutes away: only a NOTIFY wakes it
        await conn.execute("NOTIFY seatlease_leases")
        assert await _until(lambda: _more(passes, first), 15), "the worker did not wake on NOTIFY over TLS"
    finally:
        await conn.close()


async def _more(passes: Any, than: int) -> bool:
    return bool(await passes() > than)


def _serve_api(url: str) -> subprocess.Popen[str]:
    """`uvicorn service.asgi:app` on DATABASE_URL=url, once it answers /healthz."""
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "uvicorn", "service.asgi:app", "--port", str(port)],
        env=_env(DATABASE_URL=url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the API did not answer /healthz"
        time.sleep(0.3)


async def test_a_running_api_names_itself_or_keeps_the_urls_name(tls: TlsServer, migrated: str) -> None:
    async def quiet() -> bool:
        return not await _activity(tls)

    named = ("sslmode=require&application_name=ops-box", "ops-box")
    for query, name in ((f"sslmode=verify-full&sslrootcert={tls.ca}", "api"), named):
        assert await _until(quiet), await _activity(tls)
        proc = await asyncio.to_thread(_serve_api, tls.url(DB, query=query))
        try:
            rows = await _activity(tls)
            assert rows, "the API holds no pooled connection"
            assert {r["application_name"] for r in rows} == {name}
            assert all(r["ssl"] for r in rows)
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
