"""Helpers shared by the benchmarks: a scratch database on the embedded PostgreSQL, a real
uvicorn server in a child process on a loopback port, and simple statistics.

Benchmarks print figures and a ratio against a baseline measured in the same run; they
are not tests and assert nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service.dburl import connect  # noqa: E402
from service.embedded import start_embedded, to_async_url, with_database  # noqa: E402

DEFAULT_DATA_DIR = Path(os.environ.get("SEATLEASE_BENCH_DATA_DIR", "/tmp/seatlease-bench"))


def plain_url(url: str) -> str:
    """An asyncpg/libpq URL from a SQLAlchemy one."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def server_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """DATABASE_URL's server when set, else the embedded one (fsync off: throw-away data)."""
    if os.environ.get("DATABASE_URL"):
        return to_async_url(os.environ["DATABASE_URL"])
    return start_embedded(data_dir, fast_unsafe=True)


async def database_exists(server: str, name: str) -> bool:
    conn = await connect(with_database(server, "postgres"), application_name="bench")
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def recreate_database(server: str, name: str) -> str:
    """Drop and create database ``name`` on the server; return its SQLAlchemy URL."""
    conn = await connect(with_database(server, "postgres"), application_name="bench")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server, name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def child_server(args: Sequence[str], port: int, ready_path: str, *, timeout: float = 60.0) -> Iterator[str]:
    """Run ``python <args>`` (a script that serves on 127.0.0.1:port) and yield its base URL
    once ``ready_path`` answers; stop it (by its own pid) afterwards."""
    proc = subprocess.Popen([sys.executable, *args], cwd=str(ROOT), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server {args} exited with {proc.returncode}")
            try:
                if httpx.get(base + ready_path, timeout=1.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server {args} did not start in {timeout} s")
            time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else float("nan"),
        "max": max(ms) if ms else float("nan"),
    }


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


class Compiled:
    """A SQLAlchemy statement as asyncpg text; named binds are filled from a dict at call time."""

    def __init__(self, stmt: Any) -> None:
        compiled = stmt.compile(dialect=PGDialect_asyncpg())
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.defaults = dict(compiled.params)

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values[n] if n in values else self.defaults[n] for n in self.names]


def serve(url: str, port: int) -> None:
    """The app on a loopback port: what `child_server` starts a benchmark's own file with `--serve` for."""
    import uvicorn

    from service.app import create_app

    uvicorn.run(create_app(database_url=url), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def timed_pairs(
    api: Callable[[], Awaitable[Any]], bare: Callable[[], Awaitable[Any]], n: int
) -> tuple[list[float], list[float]]:
    """The request and its bare SQL in turn, `n` times each, after two warm-up rounds (connections,
    plans, caches): on a shared machine both then meet the same spells of load."""
    for _ in range(2):
        await api()
        await bare()
    out: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for call, times in ((api, out[0]), (bare, out[1])):
            t0 = time.perf_counter()
            await call()
            times.append(time.perf_counter() - t0)
    return out


def served_bench_parser(doc: str | None, database: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its scratch database, the data folder, and the hidden `--serve` the
    benchmark starts itself with in a child process (`child_server`)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=database)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser


def serve_or_run(args: argparse.Namespace, main: Callable[[argparse.Namespace], Any]) -> None:
    """Serve the app (the child process), or run the benchmark (`main`, plain or async)."""
    if args.serve:
        serve(args.url, args.port)
    elif inspect.iscoroutinefunction(main):
        asyncio.run(main(args))
    else:
        main(args)
