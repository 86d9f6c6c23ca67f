"""DATABASE_URL as PostgreSQL users write it, translated for asyncpg in this one place.

libpq's URL (`postgres://`, `postgresql://`, or SQLAlchemy's `postgresql+asyncpg://`) carries
parameters asyncpg does not take as keyword arguments (`sslmode`, `sslrootcert`, `connect_timeout`,
`options`, ...) and SQLAlchemy hands every query parameter to `asyncpg.connect` as one, so
`?sslmode=require` used to crash every command. `parse_database_url` is pure: it reads the URL into a
`DatabaseTarget`; `DatabaseTarget.connect_kwargs` builds the keyword arguments of `asyncpg.connect`
(and `create_pool`), TLS context included. Every connection of the service is made from them: the
SQLAlchemy engines (`service.db.make_engine`), Alembic (`migrations/env.py`), and the worker's LISTEN
connection (detached from the worker's engine, so it has the same arguments).

Precedence: a parameter the URL names wins over the process's own default (its `application_name`,
the connect timeout, statement and lock timeouts from the settings): the operator wrote it for this
deployment.
"""

from __future__ import annotations

import shlex
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SCHEMES = ("postgresql+asyncpg", "postgresql", "postgres")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq's names; `ssl` is SQLAlchemy's and asyncpg's spelling of sslmode (also `ssl=true`)
PARAMETERS = (
    "host",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "ssl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message names the part that is wrong (never the password)."""


@dataclass(frozen=True)
class TlsSpec:
    mode: str | None = None  # None: asyncpg's default (prefer, or PGSSLMODE)
    rootcert: str | None = None
    cert: str | None = None
    key: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class DatabaseTarget:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    tls: TlsSpec = TlsSpec()
    connect_timeout: float | None = None
    application_name: str | None = None
    server_settings: dict[str, str] = field(default_factory=dict)  # from `options=-c name=value`
    target_session_attrs: str | None = None

    def connect_kwargs(
        self,
        *,
        application_name: str | None = None,
        connect_timeout: float | None = None,
        server_settings: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments of `asyncpg.connect`/`create_pool`. The arguments are the process's
        defaults; what the URL says wins over them. Reads the TLS files (an error names the file)."""
        settings = dict(server_settings or {})
        settings.update(self.server_settings)
        name = self.application_name or application_name
        if name:
            settings["application_name"] = name
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "server_settings": settings,
        }
        timeout = self.connect_timeout or connect_timeout
        if timeout:
            kwargs["timeout"] = timeout
        tls = tls_argument(self.tls)
        if tls is not None:
            kwargs["ssl"] = tls
        if self.target_session_attrs:
            kwargs["target_session_attrs"] = self.target_session_attrs
        return {k: v for k, v in kwargs.items() if v is not None}

    def where(self) -> str:
        """host:port/database for messages (no user, no password)."""
        return f"{self.host or 'localhost'}:{self.port or 5432}/{self.database or self.user or ''}"


def parse_database_url(url: str) -> DatabaseTarget:
    """Read a libpq URL (pure: no file is read). Raises DatabaseUrlError naming the wrong part."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise DatabaseUrlError("DATABASE_URL must start with postgresql:// (or postgres://, postgresql+asyncpg://)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DatabaseUrlError(f"DATABASE_URL is not a valid URL: {_without_password(str(exc))}") from None
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in PARAMETERS:
            raise DatabaseUrlError(
                f"DATABASE_URL: unknown parameter {name!r} (accepted: {', '.join(p for p in PARAMETERS if p != 'ssl')})"
            )
        if name in query:
            raise DatabaseUrlError(f"DATABASE_URL: parameter {name!r} is given twice")
        query[name] = value

    host = unquote(parts.hostname) if parts.hostname else None  # `%2Frun%2Fpostgresql`: a socket folder
    if "port" in query:
        port = _positive_int("port", query["port"])
    database = unquote(parts.path.lstrip("/")) or None
    return DatabaseTarget(
        host=query.get("host") or host,
        port=port,
        user=query.get("user") or (unquote(parts.username) if parts.username else None),
        password=query.get("password") or (unquote(parts.password) if parts.password else None),
        database=query.get("dbname") or database,
        tls=_tls(query),
        connect_timeout=_timeout(query.get("connect_timeout")),
        application_name=query.get("application_name") or None,
        server_settings=_options(query.get("options")),
        target_session_attrs=query.get("target_session_attrs") or None,
    )


def connect_kwargs(
    url: str,
    *,
    application_name: str | None = None,
    connect_timeout: float | None = None,
    server_settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`asyncpg.connect(**connect_kwargs(url, application_name="cli"))`: the one way to connect."""
    return parse_database_url(url).connect_kwargs(
        application_name=application_name, connect_timeout=connect_timeout, server_settings=server_settings
    )


async def connect(url: str, *, application_name: str | None = None, connect_timeout: float = 10.0) -> Any:
    """A raw asyncpg connection to DATABASE_URL-like ``url`` (tests, benchmarks, one-off tools)."""
    import asyncpg

    return await asyncpg.connect(**connect_kwargs(url, application_name=application_name, connect_timeout=connect_timeout))


def _tls(query: dict[str, str]) -> TlsSpec:
    mode = query.get("sslmode")
    if "ssl" in query:
        alias = query["ssl"].lower()
        alias = {"true": "require", "1": "require", "on": "require", "false": "disable", "0": "disable", "off": "disable"}.get(
            alias, alias
        )
        if mode is not None and mode != alias:
            raise DatabaseUrlError("DATABASE_URL: `ssl` and `sslmode` disagree; give one")
        mode = alias
    if mode is not None and mode not in SSLMODES:
        raise DatabaseUrlError(f"DATABASE_URL: sslmode must be one of {', '.join(SSLMODES)} (got {mode!r})")
    if query.get("sslkey") and not query.get("sslcert"):
        raise DatabaseUrlError("DATABASE_URL: sslkey needs sslcert (the client certificate)")
    return TlsSpec(
        mode=mode,
        rootcert=query.get("sslrootcert") or None,
        cert=query.get("sslcert") or None,
        key=query.get("sslkey") or None,
        password=query.get("sslpassword") or None,
    )


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise DatabaseUrlError(f"DATABASE_URL: {name} must be a positive whole number (got {value!r})")
    return number


def _timeout(value: str | None) -> float | None:
    """libpq's connect_timeout: seconds; 0 (or none) means the process's default, never "forever"."""
    if value is None or value.strip() in ("", "0"):
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise DatabaseUrlError(f"DATABASE_URL: connect_timeout must be a number of seconds (got {value!r})")
    return max(seconds, 2.0)  # libpq's floor: 1 second is taken as 2


def _options(value: str | None) -> dict[str, str]:
    """libpq's `options`: `-c name=value` (or `-cname=value`, `--name=value`), sent as server settings."""
    if not value:
        return {}
    settings: dict[str, str] = {}
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise DatabaseUrlError(f"DATABASE_URL: options: {exc}") from None
    pending_c = False
    for word in words:
        if pending_c:
            item, pending_c = word, False
        elif word == "-c":
            pending_c = True
            continue
        elif word.startswith(("-c", "--")):
            item = word[2:]
        else:
            raise DatabaseUrlError(f"DATABASE_URL: options accepts only `-c name=value` (got {word!r})")
        name, eq, setting = item.partition("=")
        if not eq or not name:
            raise DatabaseUrlError(f"DATABASE_URL: options: expected name=value (got {item!r})")
        settings[name.replace("-", "_")] = setting
    if pending_c:
        raise DatabaseUrlError("DATABASE_URL: options ends with -c and no name=value")
    return settings


def tls_argument(spec: TlsSpec) -> ssl.SSLContext | str | bool | None:
    """asyncpg's `ssl` argument for the URL's TLS parameters, as libpq reads them.

    verify-full checks the certificate chain against `sslrootcert` and the host name; verify-ca the
    chain only; require with `sslrootcert` is verify-ca (libpq's rule), without it encryption only;
    `sslrootcert=system` uses the operating system's CAs. Without certificate files the mode goes
    to asyncpg as libpq's word (it then looks in ~/.postgresql, as libpq does)."""
    mode = spec.mode
    if mode == "disable":
        return False
    if mode is None and not (spec.rootcert or spec.cert):
        return None
    if mode == "require" and spec.rootcert:
        mode = "verify-ca"
    if mode in ("verify-ca", "verify-full") and spec.rootcert:
        context = _context_with_roots(spec.rootcert)
        context.check_hostname = mode == "verify-full"
        context.verify_mode = ssl.CERT_REQUIRED
    elif spec.cert and mode not in ("verify-ca", "verify-full"):
        # a client certificate on an encryption-only connection (allow/prefer become require)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif spec.cert:
        return mode  # verify-* without sslrootcert and a client certificate: libpq's defaults apply
    else:
        return mode
    if spec.cert:
        try:
            context.load_cert_chain(spec.cert, keyfile=spec.key, password=spec.password)
        except (OSError, ssl.SSLError) as exc:
            raise DatabaseUrlError(f"DATABASE_URL: cannot read sslcert/sslkey {spec.cert!r}: {exc}") from None
    return context


def _context_with_roots(rootcert: str) -> ssl.SSLContext:
    if rootcert == "system":
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=rootcert)
    except (OSError, ssl.SSLError) as exc:
        raise DatabaseUrlError(f"DATABASE_URL: cannot read sslrootcert {rootcert!r}: {exc}") from None
    return context


def _without_password(text: str) -> str:
    return text.split("@")[-1] if "@" in text else text
