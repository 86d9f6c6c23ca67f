"""The `seatlease` command: up, migrate, worker, user (create, list, disable, enable, set-password), billing run,
statements export."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import secrets
import signal
import socket
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from service.dburl import DatabaseUrlError
from service.embedded import resolve_database_url
from service.schema import DatabaseUnreachable, DatabaseUrlMissing, SchemaNotCurrent, require_current_schema
from service.settings import SecretKeyMissing, Settings, SettingsInvalid, get_settings, require_secret_key, use_settings

STAFF_ROLES = ("admin", "facility_staff", "finance")


def _database_url(settings: Settings) -> str:
    """DATABASE_URL; without it, a refusal (the embedded database is for `seatlease up` only: a
    replica that lost its DATABASE_URL must not start an empty database beside the real one)."""
    if not settings.database_url:
        raise DatabaseUrlMissing()
    return settings.database_url


def _current_database_url(settings: Settings, role: str = "cli") -> str:
    """DATABASE_URL, once its schema is found to be the code's (else SchemaNotCurrent: migrating
    is `seatlease migrate`'s job alone, never a side effect of another command)."""
    url = _database_url(settings)
    asyncio.run(require_current_schema(url, application_name=role, connect_timeout=settings.db_connect_timeout_seconds))
    return url


def cmd_migrate(args: argparse.Namespace) -> int:
    from service.migrate import upgrade

    upgrade(_database_url(get_settings()))
    print("database migrated")
    return 0


async def _with_session(url: str, fn: Any) -> Any:
    from service.db import engine_for, make_sessionmaker

    engine = engine_for(url, get_settings(), "cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


async def _create_user(
    url: str,
    email: str,
    password: str,
    role: str,
    password_change: str | None = None,
    client_id: uuid.UUID | None = None,
) -> str:
    from domain.services import clients
    from domain.services.audit import SystemActor
    from service.auth import hash_secret

    async def go(session: Any) -> str:
        user = await clients.create_user(
            session,
            SystemActor("cli"),
            email=email,
            password_hash=hash_secret(password),
            role=role,
            client_id=client_id,
            password_change=password_change,
        )
        return str(user.id)

    result: str = await _with_session(url, go)
    return result


def cmd_user_create(args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from service.cli_users import read_password

    if args.password is not None and len(args.password) < 10:
        print("error: --password must be at least 10 characters", file=sys.stderr)
        return 2
    password = read_password(args, flag=args.password)  # --password stays for scripts that pass it
    if password is None:
        return 2
    url = _current_database_url(get_settings())
    try:
        user_id = asyncio.run(_create_user(url, args.email, password, args.role))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.email.lower()} ({user_id})")
    return 0


async def _has_admin(url: str) -> bool:
    from domain.services import users

    result: bool = await _with_session(url, users.any_admin)
    return result


async def _seed(url: str) -> dict[str, int]:
    from service.demo import seed_demo

    result: dict[str, int] = await _with_session(url, seed_demo)
    return result


async def _holds_demo_data(url: str) -> bool:
    from domain.services.first_start import holds_demo_data

    result: bool = await _with_session(url, holds_demo_data)
    return result


class _Stopped(Exception):
    """SIGTERM or SIGINT while `seatlease up` runs: unwind so the embedded PostgreSQL is stopped."""


def _on_stop_signal(signum: int, frame: object) -> None:
    raise _Stopped(signum)


class _UpError(Exception):
    """A reason `seatlease up` cannot start, already worded for its one line on stderr."""


def _listen(host: str, port: int) -> socket.socket:
    """Bind the API's socket before anything else, so a taken port is one clear error."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise _UpError(f"error: cannot listen on {host}: {exc.strerror}; choose another with --host") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise _UpError(f"error: port {port} on {host} is in use; choose another with --port") from None
        raise _UpError(f"error: cannot listen on {host} port {port}: {exc.strerror}; choose another with --host/--port") from None
    return sock


def _up_settings() -> Settings:
    """The settings `seatlease up` runs with: on the embedded database without SEATLEASE_SECRET_KEY,
    the key kept in the data folder (made on first start); otherwise the key must be set."""
    from service.embedded import UnsafeKeyFile, load_or_create_secret_key

    settings = get_settings()
    if not settings.database_url and not settings.configured_secret_key:
        try:
            key, path, created = load_or_create_secret_key(settings.data_dir)
        except UnsafeKeyFile as exc:
            raise _UpError(f"error: {exc}") from None
        except OSError as exc:
            raise _UpError(
                f"error: cannot keep the server key in {settings.data_dir} ({exc.strerror}); "
                "set SEATLEASE_DATA_DIR to a folder you can write, or set SEATLEASE_SECRET_KEY"
            ) from None
        if created:
            print(f"server key created in {path} (readable by you only; set SEATLEASE_SECRET_KEY to use another)")
        settings = settings.with_secret_key(key)
        use_settings(settings)
    require_secret_key(settings)
    return settings


def _ensure_admin(settings: Settings, url: str) -> None:
    """Create an admin login when none exists."""
    if asyncio.run(_has_admin(url)):
        print("an admin login exists already; `seatlease user create` makes more")
        return
    _first_login(settings, url, "admin@seatlease.dev", "admin", None, "admin-login.txt", "admin login", "the admin", "admin")


def _ensure_demo_portal_login(settings: Settings, url: str) -> None:
    """Beside the demo's data: a client_admin of its first client, to look at the client portal."""
    from domain.services.first_start import demo_portal_client

    found = asyncio.run(_with_session(url, demo_portal_client))
    if found is None:
        return
    client_id, domain, has_login = found
    if not has_login:
        what = "client portal login (demo client, client_admin)"
        _first_login(settings, url, f"ops@{domain}", "client_admin", client_id, "portal-login.txt", what, "the portal")


def _first_login(
    settings: Settings,
    url: str,
    email: str,
    role: str,
    client_id: uuid.UUID | None,
    file: str,
    what: str,
    where: str,
    who: str | None = None,
) -> None:
    """A first login whose password goes to the terminal when there is one, else to a file in the
    data folder readable by the owner only (written before the login exists): never to the
    output, which is a log when seatlease runs as a service."""
    from service.embedded import write_private_file

    password = secrets.token_urlsafe(12)
    if sys.stdout.isatty():
        asyncio.run(_create_user(url, email, password, role, "suggested", client_id))
        print(f"{what} created: {email} / {password}  (shown once; change it in {where}: My account)")
        return
    path = settings.data_dir / file
    try:
        write_private_file(path, f"email: {email}\npassword: {password}\n")
    except OSError as exc:
        raise _UpError(
            f"error: cannot write the first {who or what}'s password to {path} ({exc.strerror}); "
            "set SEATLEASE_DATA_DIR to a folder you can write, or start on a terminal"
        ) from None
    asyncio.run(_create_user(url, email, password, role, "suggested", client_id))
    print(
        f"{what} created: {email}; its password is in {path} "
        f"(readable by you only; change it in {where}: My account, then delete the file)"
    )


def cmd_up(args: argparse.Namespace) -> int:
    from service.embedded import stop_embedded

    try:
        settings = _up_settings()
        sock = _listen(args.host, args.port)
    except _UpError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    embedded = not settings.database_url
    previous = {sig: signal.signal(sig, _on_stop_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        if not _serve(args, settings, sock):
            code = 1  # the server did not start (uvicorn said why)
    except (_Stopped, KeyboardInterrupt):
        pass
    except _UpError as exc:
        print(str(exc), file=sys.stderr)
        code = 2
    finally:
        sock.close()
        # stop the embedded PostgreSQL (unless another seatlease process still uses it); a second
        # Ctrl-C meanwhile must not cut this short
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if embedded:
            stop_embedded(settings.data_dir)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _serve(args: argparse.Namespace, settings: Settings, sock: socket.socket) -> bool:
    """Migrate, seed, make the first admin, then serve on ``sock`` with the worker beside; False when
    the server did not start."""
    from service.migrate import upgrade

    # the demo's one process: it migrates its own database (embedded, or DATABASE_URL's)
    url = resolve_database_url(settings.data_dir, settings.database_url)
    upgrade(url)
    if not args.no_demo:
        counts = asyncio.run(_seed(url))
        if counts:
            print("demo data: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    else:
        _say_what_is_there(settings, url)  # --- first start (issue 13) ---
    _ensure_admin(settings, url)
    # --- integrations (issue 13): the demo's Wi-Fi and directory targets, unless configured or --no-demo ---
    from service.demo_targets import start_demo_targets

    # only beside the demo's data: on a database of real leases, accounts "granted" in a throw-away
    # directory would show as active while nobody has one
    demo = not args.no_demo and asyncio.run(_holds_demo_data(url))
    if demo:  # --- client portal (issue 14) ---
        _ensure_demo_portal_login(settings, url)
    targets = start_demo_targets(settings, url, embedded=not settings.database_url, demo=demo, data_dir=settings.data_dir)
    try:
        settings = targets.settings
        use_settings(settings)
        for line in targets.lines:
            print(line)
        sys.stdout.flush()
        return _serve_app(args, settings, sock, url)
    finally:
        targets.stop()  # stopping `up` stops the demo directory too


def _serve_app(args: argparse.Namespace, settings: Settings, sock: socket.socket, url: str) -> bool:
    import uvicorn

    from service.app import create_app
    from service.worker import run_forever

    app = create_app(settings, database_url=url)
    # every address: the URLs printed are this machine's own, which a browser here can open
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(args.host, args.host)
    host = f"[{shown}]" if ":" in shown else shown
    base = f"http://{host}:{args.port}"

    async def main() -> bool:
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info"))
        stop = asyncio.Event()

        async def announce() -> None:
            # uvicorn has no event for "listening": a 50 ms look at its flags
            while not server.started and not server.should_exit:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if server.started:
                print(
                    f"seatlease is running on {base}  (admin: {base}/admin/, client portal: {base}/portal/,"
                    f" API docs: {base}/docs)",
                    flush=True,
                )

        worker = asyncio.create_task(_worker(app, settings, stop, run_forever))
        announcer = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            announcer.cancel()
            stop.set()
            await worker
        return bool(server.started)

    return asyncio.run(main())


def _say_what_is_there(settings: Settings, url: str) -> None:
    """`up --no-demo` on a database that already holds data: say what, that it is kept, and how to
    start clean (nothing is deleted: the data may be real)."""
    from domain.services.first_start import data_summary

    summary = asyncio.run(_with_session(url, data_summary))
    if summary.empty:
        print("--no-demo: an empty database; add sites, floors and plans in the admin")
        return
    what = f"{summary.sites} sites, {summary.clients} clients, {summary.leases} leases"
    if settings.database_url:
        where, clean = "DATABASE_URL's database", "drop and recreate that database (or point DATABASE_URL at an empty one)"
    else:
        where = f"the data folder {settings.data_dir}"
        clean = f"stop seatlease, move or delete {settings.data_dir} (or set SEATLEASE_DATA_DIR to an empty folder)"
    origin = "the demo data of an earlier `seatlease up`" if summary.demo else "data"
    print(f"--no-demo: {where} already holds {origin} ({what}); it is kept and served as it is.")
    print(f"  to start clean: {clean}, then run `seatlease up --no-demo` again")


async def _worker(app: Any, settings: Settings, stop: asyncio.Event, run_forever: Any) -> None:
    # the app's lifespan binds the engine on startup; wait for it
    while not hasattr(app.state, "sessionmaker") and not stop.is_set():  # noqa: ASYNC110 (the lifespan sets no event)
        await asyncio.sleep(0.1)
    await run_forever(app.state.sessionmaker, settings, stop)


def cmd_worker(args: argparse.Namespace) -> int:
    from service.db import engine_for, make_sessionmaker
    from service.worker import run_forever, run_pass

    settings = get_settings()
    require_secret_key(settings)
    url = _current_database_url(settings, "worker")

    async def main() -> None:
        engine = engine_for(url, settings, "worker")
        maker = make_sessionmaker(engine)
        try:
            if args.once:
                await run_pass(maker, settings)
            else:
                await run_forever(maker, settings)
        finally:
            await engine.dispose()

    asyncio.run(main())
    return 0


def _with_current_url(fn: Any) -> Any:
    """A command running ``fn(url, args)`` on DATABASE_URL once its schema is the code's."""

    def command(args: argparse.Namespace) -> int:
        code: int = fn(_current_database_url(get_settings()), args)
        return code

    return command


def cmd_billing_run(args: argparse.Namespace) -> int:
    from service.cli_billing import billing_run_command

    return billing_run_command(_current_database_url(get_settings()), args.period)


def cmd_statements_export(args: argparse.Namespace) -> int:
    from service.cli_billing import statements_export_command

    return statements_export_command(_current_database_url(get_settings()), args.period, args.out)


def _period(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError("period must be YYYY-MM")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seatlease", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="embedded database, migrations, demo data, API + worker + admin")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--no-demo",
        action="store_true",
        help="start with an empty database, and without the demo's Wi-Fi database and SCIM directory",
    )
    up.set_defaults(func=cmd_up)

    sub.add_parser(
        "migrate", help="apply the migrations to DATABASE_URL (the only command that changes the schema)"
    ).set_defaults(func=cmd_migrate)

    worker = sub.add_parser("worker", help="run the background worker (several may run side by side)")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.set_defaults(func=cmd_worker)

    user = sub.add_parser("user", help="manage staff logins").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a staff login")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prefer a prompt or --password-stdin: a command line is visible to `ps`")
    create.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    create.add_argument("--role", required=True, choices=STAFF_ROLES)
    create.set_defaults(func=cmd_user_create)
    # --- people and keys (issue 13): list, disable, enable, set-password ---
    from service.cli_users import add_commands

    add_commands(user, _with_current_url)

    billing = sub.add_parser("billing", help="monthly billing").add_subparsers(dest="billing_command", required=True)
    run = billing.add_parser("run", help="bill a month (idempotent; safe to re-run)")
    run.add_argument("--period", required=True, type=_period)
    run.set_defaults(func=cmd_billing_run)

    statements = sub.add_parser("statements", help="client statements").add_subparsers(dest="statements_command", required=True)
    export = statements.add_parser("export", help="every client's PDF and CSV plus the journal CSV")
    export.add_argument("--period", required=True, type=_period)
    export.add_argument("--out", required=True)
    export.set_defaults(func=cmd_statements_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("SEATLEASE_LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (SecretKeyMissing, DatabaseUrlMissing, DatabaseUrlError, SettingsInvalid) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SchemaNotCurrent, DatabaseUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
