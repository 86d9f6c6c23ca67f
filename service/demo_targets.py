"""The provisioning targets `seatlease up` starts for its demo, so that credentials follow leases from
the first start with nothing to set up (issue 13):

- Wi-Fi logins: a database `radius` in the embedded PostgreSQL, laid out with FreeRADIUS's own
  tables (provisioning/providers/radius_schema.py); RADIUS_DATABASE_URL points at it.
- Directory accounts: an in-memory SCIM 2.0 directory (the `scim2-server` package) served on a free
  port of 127.0.0.1 in a thread of this process, behind a bearer token made at each start (kept in the
  data folder, readable by the owner only); SCIM_BASE_URL and SCIM_TOKEN point at it.

A target the operator configured is never replaced; `--no-demo` starts none, nor does a database that
does not hold the demo data (real leases' accounts must not turn "active" in a throw-away directory); a database given by
DATABASE_URL gets no `radius` database made in it (it is not ours to add databases to). Each start
says which target is which, and how to use a real one instead.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from scim2_models import UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.utils import load_default_provider
from uvicorn.protocols.http.h11_impl import H11Protocol

from provisioning.providers.radius_schema import SCHEMA as RADIUS_SCHEMA
from service.dburl import connect
from service.embedded import with_database, write_private_file
from service.settings import Settings

logger = logging.getLogger("seatlease.demo")

RADIUS_DATABASE = "radius"
SCIM_TOKEN_FILE = "demo-scim-token"


class _TokenScim(ASGIApplication):
    """scim2-server's ASGI application over its in-memory storage, refusing any request without the token."""

    def __init__(self, token: str) -> None:
        super().__init__(AsyncInMemoryStorage(), load_default_provider())
        self.token = token

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, sent = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.encode(), self.token.encode()):
            raise UnauthorizedException


class _QuietH11(H11Protocol):
    """uvicorn's h11 protocol without access lines: the API's server and this one share uvicorn's
    access logger, and the directory's calls would drown the API's own lines in `up`'s output."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.access_log = False


class DemoDirectory:
    """The in-memory SCIM directory, served by uvicorn in a thread with its own event loop (the API's
    loop stays the API's); it lives as long as `seatlease up` and forgets everything when it stops."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # loopback only, whatever --host the API listens on
        self.port = int(self.sock.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(_TokenScim(token), http=_QuietH11, log_config=None, lifespan="off", access_log=False, host="127.0.0.1")
        )
        self.thread = threading.Thread(target=self._run, name="seatlease-demo-scim", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def start(self, timeout: float = 15.0) -> DemoDirectory:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo SCIM directory did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class DemoTargets:
    """What `up` runs with: its settings (the demo targets filled in), what to say, what to stop."""

    settings: Settings
    lines: list[str] = field(default_factory=list)
    directory: DemoDirectory | None = None

    def stop(self) -> None:
        if self.directory is not None:
            self.directory.stop()
            self.directory = None


async def ensure_radius_database(url: str) -> str:
    """The `radius` database beside seatlease's own on the same server, with FreeRADIUS's tables
    (made when missing; kept, rows and all, across starts). Returns its URL."""
    admin = await connect(with_database(url, "postgres"), application_name="seatlease-demo")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", RADIUS_DATABASE):
            await admin.execute(f'CREATE DATABASE "{RADIUS_DATABASE}"')
    finally:
        await admin.close()
    radius_url = with_database(url, RADIUS_DATABASE)
    conn = await connect(radius_url, application_name="seatlease-demo")
    try:
        await conn.execute(RADIUS_SCHEMA)
    finally:
        await conn.close()
    return radius_url


def _shown(url: str) -> str:
    """A database URL as printed: the embedded server's has no password; any other loses it."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    head, sep, rest = plain.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{head}{sep}{rest}"


def start_demo_targets(settings: Settings, url: str, *, embedded: bool, demo: bool, data_dir: Path) -> DemoTargets:
    """Start the demo targets `up` runs with (see the module's docstring) and word what it says."""
    out = DemoTargets(settings)
    updates: dict[str, str] = {}
    if settings.radius_database_url:
        out.lines.append("Wi-Fi logins: FreeRADIUS tables in RADIUS_DATABASE_URL (yours)")
    elif demo and embedded:
        radius_url = asyncio.run(ensure_radius_database(url))
        updates["radius_database_url"] = radius_url
        out.lines.append(
            f"Wi-Fi logins: FreeRADIUS tables (radcheck, radusergroup) in the database `{RADIUS_DATABASE}` of the embedded "
            f"PostgreSQL: {_shown(radius_url)}  (point a FreeRADIUS rlm_sql at it, or set RADIUS_DATABASE_URL to yours)"
        )
    else:
        out.lines.append("Wi-Fi logins: off (set RADIUS_DATABASE_URL to the database your FreeRADIUS reads)")
    if settings.scim_base_url:
        out.lines.append("directory accounts: SCIM directory at SCIM_BASE_URL (yours)")
    elif demo:
        token = secrets.token_urlsafe(32)
        token_file = data_dir / SCIM_TOKEN_FILE
        write_private_file(token_file, token + "\n")
        out.directory = DemoDirectory(token).start()
        updates["scim_base_url"] = out.directory.url
        updates["scim_token"] = token
        out.lines.append(
            f"directory accounts: a demo SCIM 2.0 directory in memory at {out.directory.url}  (bearer token in "
            f"{token_file}; emptied when seatlease stops; set SCIM_BASE_URL and SCIM_TOKEN for your identity provider)"
        )
    else:
        out.lines.append("directory accounts: off (set SCIM_BASE_URL and SCIM_TOKEN to your identity provider's SCIM endpoint)")
    if updates:
        demo_kinds = tuple(k for k in ("wifi", "directory") if _has(k, updates))
        out.settings = settings.model_copy(update={**updates, "demo_targets": demo_kinds})
        out.lines.append("  demo targets: `seatlease up --no-demo` starts none; /admin/integrations shows every target's state")
    return out


def _has(kind: str, updates: dict[str, str]) -> bool:
    return ("radius_database_url" if kind == "wifi" else "scim_base_url") in updates
