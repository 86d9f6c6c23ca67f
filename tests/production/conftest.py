"""The production shape, for real: Debian's PostgreSQL with TLS and a non-superuser owner,
`seatlease migrate`, two API processes and two worker processes, all with one `DATABASE_URL`,
and a real SCIM server (issue 10). Everything here is module-scoped: it is started once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.production import pg
from tests.provisioning.servers import FlakyScim, ThreadServer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAFF_PASSWORD = "a long staff passphrase"


class SlowScim(FlakyScim):
    """The SCIM server with a directory's latency, so a worker can be killed half-way through its work."""

    latency = 0.3

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.latency)
        await super().__call__(scope, receive, send)


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg.PgServer]:
    """Started, with the owner role and its database; the superuser only made those."""
    server = pg.init_server()
    try:
        server.start()

        async def setup() -> None:
            conn = await asyncpg.connect(host=server.socket_dir, port=server.port, user="postgres", database="postgres")
            try:
                await conn.execute(
                    f"CREATE ROLE {pg.OWNER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD "
                    + "'"
                    + pg.OWNER_PASSWORD.replace("'", "''")
                    + "'"
                )
                await conn.execute(f"CREATE DATABASE {pg.DATABASE} OWNER {pg.OWNER}")
            finally:
                await conn.close()

        asyncio.run(setup())
        yield server
    finally:
        pg.remove(server)


@pytest.fixture(scope="module")
def scim() -> Iterator[tuple[SlowScim, str]]:
    app = SlowScim()
    server = ThreadServer(app).start()
    yield app, server.url + "/v2"
    server.stop()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@dataclass
class Cluster:
    """The processes of one deployment and what they share."""

    server: pg.PgServer
    env: dict[str, str]
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    token: str = ""

    @property
    def url(self) -> str:
        return self.env["DATABASE_URL"]

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A `seatlease` command, as an operator types it."""
        return subprocess.run(
            [str(BIN / "seatlease"), *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _spawn(self, name: str, cmd: list[str], port: int | None = None) -> Proc:
        log = self.server.root / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        return Proc(name, popen, log, port)

    def start_api(self, i: int) -> Proc:
        port = pg.free_port()
        cmd = [str(BIN / "uvicorn"), "service.asgi:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        proc = self._spawn(f"api{i}", cmd, port)
        deadline = time.monotonic() + 60
        while True:
            assert proc.popen.poll() is None, f"{proc.name} exited: {proc.tail()}"
            try:
                if httpx.get(proc.base + "/healthz", timeout=2).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{proc.name} did not answer /healthz: {proc.tail()}"
            time.sleep(0.2)

    def start_worker(self, i: int) -> Proc:
        return self._spawn(f"worker{i}", [str(BIN / "seatlease"), "worker"])

    def ensure_workers(self) -> None:
        """Two live workers (a test may have killed one)."""
        for i, w in enumerate(self.workers):
            if w.popen.poll() is not None:
                self.workers[i] = self.start_worker(i + 1)

    def stop(self) -> None:
        for p in self.apis + self.workers:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in self.apis + self.workers:
            try:
                p.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(postgres: pg.PgServer, scim: tuple[SlowScim, str]) -> Iterator[Cluster]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "SCIM_", "RADIUS_", "BADGE_", "DATABASE_URL", "SEATLEASE_DATA_DIR"))
    }
    env.update(
        DATABASE_URL=postgres.url(),
        SEATLEASE_SECRET_KEY=os.environ["SEATLEASE_SECRET_KEY"],
        SCIM_BASE_URL=scim[1],
        SEATLEASE_BILLING_ADVANCE_DAYS="62000",
        # fast enough for a test; the periodic pass never provisions (the reconciler's own loop does),
        # and its sweep is an hour apart: only NOTIFY, due retries and reconnection explain prompt work
        SEATLEASE_WORKER_INTERVAL="0.5",
        SEATLEASE_PROV_SWEEP_INTERVAL="3600",
        SEATLEASE_PROV_BACKOFF_BASE="0.2",
        SEATLEASE_PROV_BACKOFF_CAP="1",
        SEATLEASE_PROV_PASS_RETRY_BASE="0.2",
        SEATLEASE_PROV_PASS_RETRY_CAP="1",
        SEATLEASE_PROV_CONCURRENCY="2",
        SEATLEASE_PROV_PARALLEL_BATCHES="1",
        SEATLEASE_PROV_BATCH="4",
        SEATLEASE_PROV_DRIFT_GUARD_SHARE="1",
        SEATLEASE_DB_POOL_SIZE="10",
        SEATLEASE_DB_MAX_OVERFLOW="10",
        SEATLEASE_DB_CONNECT_TIMEOUT="2",
        SEATLEASE_DB_RETRY_AFTER="2",
        SEATLEASE_LOGIN_HASH_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
    )
    c = Cluster(postgres, env)
    migrated = c.run("migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    made = c.run("user", "create", "--email", "ops@facility-example.com", "--password", STAFF_PASSWORD, "--role", "admin")
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        c.apis = [c.start_api(1), c.start_api(2)]
        c.workers = [c.start_worker(1), c.start_worker(2)]
        r = httpx.post(
            c.apis[0].base + "/v1/auth/token",
            data={"grant_type": "password", "username": "ops@facility-example.com", "password": STAFF_PASSWORD},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        c.token = r.json()["access_token"]
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
async def owner_db(cluster: Cluster) -> AsyncIterator[asyncpg.Pool]:
    """The test's own view of the database: the owner's URL, TLS verified like the application's."""
    pool = await asyncpg.create_pool(cluster.url, min_size=1, max_size=4)
    yield pool
    await pool.close()
