"""Schema changes happen in `seatlease migrate` only; every other process refuses a schema that is
not the code's, and nothing but `seatlease up` starts without DATABASE_URL (real processes)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from service.app import create_app
from service.dburl import connect
from service.migrate import alembic_config
from service.schema import SchemaNotCurrent, code_revisions
from tests.conftest import create_database, drop_database

BIN = Path(sys.executable).parent
SEATLEASE = str(BIN / "seatlease")
UVICORN = str(BIN / "uvicorn")
BEHIND = "0011_strict_input"


def _env(**over: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    for k, v in over.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Non-zero, one line on stderr naming ``words``, no traceback."""
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


async def _revisions(url: str) -> set[str] | None:
    conn = await connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
            return None
        return {r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")}
    finally:
        await conn.close()


@pytest.fixture
def behind_db(server_url: str) -> Iterator[str]:
    """A database migrated to an older revision than the code's head."""
    name = f"behind_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name)
    command.upgrade(alembic_config(url), BEHIND)
    yield url.replace("postgresql+asyncpg://", "postgresql://", 1)
    drop_database(server_url, name)


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    name = f"empty_{uuid.uuid4().hex[:10]}"
    yield create_database(server_url, name).replace("postgresql+asyncpg://", "postgresql://", 1)
    drop_database(server_url, name)


def test_three_workers_started_together_on_a_behind_schema_refuse_and_start_after_migrate(behind_db: str) -> None:
    heads, _ = code_revisions()
    env = _env(DATABASE_URL=behind_db)
    workers = [
        subprocess.Popen([SEATLEASE, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        line = _refused(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), "seatlease migrate", BEHIND)
        assert all(head in line for head in heads)
    # none of them touched the schema
    assert asyncio.run(_revisions(behind_db)) == {BEHIND}

    migrated = _run([SEATLEASE, "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert asyncio.run(_revisions(behind_db)) == set(heads)
    workers = [
        subprocess.Popen([SEATLEASE, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for proc in workers:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err


def test_a_database_without_the_schema_is_refused_by_the_worker_and_the_cli(empty_db: str, tmp_path: Path) -> None:
    env = _env(DATABASE_URL=empty_db)
    for args in (
        ["worker", "--once"],
        ["user", "create", "--email", "x@facility-example.com", "--password", "long enough pw", "--role", "admin"],
        ["billing", "run", "--period", "2001-01"],
        ["statements", "export", "--period", "2001-01", "--out", str(tmp_path / "out")],
    ):
        _refused(_run([SEATLEASE, *args], env), "no seatlease schema", "seatlease migrate")
    assert asyncio.run(_revisions(empty_db)) is None  # nothing was created behind the operator's back


def test_the_cli_refuses_a_behind_schema_and_a_newer_one(behind_db: str) -> None:
    env = _env(DATABASE_URL=behind_db)
    _refused(_run([SEATLEASE, "billing", "run", "--period", "2001-01"], env), "behind", "seatlease migrate")

    async def future() -> None:
        conn = await connect(behind_db)
        await conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
        await conn.close()

    asyncio.run(future())
    _refused(_run([SEATLEASE, "worker", "--once"], env), "newer than this code", "0099_from_the_future")


def test_the_api_refuses_a_behind_schema_in_one_line(behind_db: str) -> None:
    env = _env(DATABASE_URL=behind_db)
    _refused(_run([sys.executable, "-c", "import service.asgi"], env), "behind", "seatlease migrate")
    served = _run([UVICORN, "service.asgi:app", "--port", "0"], env)
    _refused(served, "behind", "seatlease migrate")


async def test_the_apps_start_up_refuses_a_behind_schema(behind_db: str) -> None:
    """Any ASGI server: the lifespan refuses too (for servers that do not import service.asgi)."""
    app = create_app(database_url=behind_db)
    with pytest.raises(SchemaNotCurrent, match="seatlease migrate"):
        async with app.router.lifespan_context(app):
            pass
    await app.state.engine.dispose()


async def test_the_apps_start_up_passes_on_the_current_schema(database_url: str) -> None:
    app = create_app(database_url=database_url)
    async with app.router.lifespan_context(app):
        assert app.state.schema_checked


def test_without_database_url_nothing_but_up_starts(tmp_path: Path) -> None:
    """A replica that lost DATABASE_URL refuses; it never starts an empty embedded database."""
    env = _env(SEATLEASE_DATA_DIR=str(tmp_path))
    for args in (
        [SEATLEASE, "worker", "--once"],
        [SEATLEASE, "migrate"],
        [SEATLEASE, "user", "create", "--email", "x@facility-example.com", "--password", "long enough pw", "--role", "admin"],
        [SEATLEASE, "billing", "run", "--period", "2001-01"],
        [SEATLEASE, "statements", "export", "--period", "2001-01", "--out", str(tmp_path / "out")],
        [sys.executable, "-c", "import service.asgi"],
        [UVICORN, "service.asgi:app", "--port", "0"],
    ):
        _refused(_run(args, env), "DATABASE_URL is not set", "seatlease up")
    assert not (tmp_path / "pg").exists()


async def test_the_app_without_a_database_url_refuses_at_start_up(tmp_path: Path) -> None:
    from service.schema import DatabaseUrlMissing
    from service.settings import get_settings

    app = create_app(get_settings().model_copy(update={"database_url": None, "data_dir": tmp_path}))
    with pytest.raises(DatabaseUrlMissing):
        async with app.router.lifespan_context(app):
            pass
    assert not (tmp_path / "pg").exists()


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db?sslmode=sometimes", "mysql://u@h/db"], ids=["bad sslmode", "not postgresql"]
)
def test_an_unusable_database_url_is_one_line(url: str) -> None:
    env = _env(DATABASE_URL=url)
    for args in ([SEATLEASE, "migrate"], [SEATLEASE, "worker", "--once"], [sys.executable, "-c", "import service.asgi"]):
        _refused(_run(args, env), "DATABASE_URL")


def test_a_worker_that_cannot_reach_the_database_says_so_in_one_line() -> None:
    env = _env(DATABASE_URL="postgresql://nobody:secret@127.0.0.1:9/nothing?connect_timeout=2")
    line = _refused(_run([SEATLEASE, "worker", "--once"], env), "cannot connect to the database at 127.0.0.1:9/nothing")
    assert "secret" not in line


def test_an_api_whose_database_is_away_at_start_starts_and_answers_503() -> None:
    """Degrade, never break: only a schema that is known to be wrong stops an API replica."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(DATABASE_URL="postgresql://nobody:secret@127.0.0.1:9/nothing?connect_timeout=2")
    proc = subprocess.Popen(
        [UVICORN, "service.asgi:app", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert r.status_code == 503
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "cannot connect to the database at 127.0.0.1:9/nothing" in err
    assert "secret" not in err
