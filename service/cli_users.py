"""`seatlease user list | disable | enable | set-password` (issue 13, people and keys): the same
use-cases as the API and the admin. A password is read from a prompt or from stdin
(`--password-stdin`), never only from the command line, where other users' `ps` would see it."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from typing import Any

MIN_PASSWORD = 10


async def _with_session(url: str, fn: Any) -> Any:
    """``fn(session)`` in one transaction on a short-lived engine (as `seatlease user create`)."""
    from service.db import engine_for, make_sessionmaker
    from service.settings import get_settings

    engine = engine_for(url, get_settings(), "cli")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


def read_password(args: argparse.Namespace, *, flag: str | None = None) -> str | None:
    """The new password: one line of stdin with --password-stdin, else typed twice at a prompt.
    None (after saying why on stderr) when there is neither."""
    if flag:
        return flag
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return None
    else:
        print("error: no terminal to prompt on: pass the password on stdin with --password-stdin", file=sys.stderr)
        return None
    if len(password) < MIN_PASSWORD:
        print(f"error: the password must be at least {MIN_PASSWORD} characters", file=sys.stderr)
        return None
    return password


async def list_logins(url: str, args: argparse.Namespace) -> list[Any]:
    from domain.services import people

    f = people.UserFilter(
        role=args.role, client_id=args.client_id, active=None if args.active is None else args.active == "yes", email=args.email
    )

    async def go(session: Any) -> list[Any]:
        rows: list[Any] = []
        cursor = None
        while True:
            page, cursor = await people.list_users(session, f, tenant=None, staff=True, cursor=cursor, limit=500)
            rows += [(u.email, u.role, str(u.client_id or "-"), "active" if u.active else "disabled", str(u.id)) for u in page]
            if cursor is None:
                return rows

    result: list[Any] = await _with_session(url, go)
    return result


def cmd_list(url: str, args: argparse.Namespace) -> int:
    rows = asyncio.run(list_logins(url, args))
    header = ("EMAIL", "ROLE", "CLIENT", "STATE", "ID")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[4])
    return 0


async def _on_login(url: str, args: argparse.Namespace, work: Any) -> str:
    from domain.services import people

    async def go(session: Any) -> str:
        user = await people.find_login(session, email=args.email, user_id=args.id)
        await work(session, user)
        return str(user.email)

    result: str = await _with_session(url, go)
    return result


def cmd_set_active(url: str, args: argparse.Namespace, active: bool) -> int:
    from domain.errors import DomainError
    from domain.services import people
    from domain.services.audit import SystemActor

    async def work(session: Any, user: Any) -> None:
        await people.disable_or_enable(session, SystemActor("cli"), user, active)

    try:
        email = asyncio.run(_on_login(url, args, work))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"{email} {'enabled' if active else 'disabled; its sessions have ended'}")
    return 0


def cmd_set_password(url: str, args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from domain.services import people, users
    from domain.services.audit import SystemActor
    from service.auth import hash_secret

    password = read_password(args)
    if password is None:
        return 2
    password_hash = hash_secret(password)

    async def work(session: Any, user: Any) -> None:
        if args.temporary:
            await people.set_temporary_password(session, SystemActor("cli"), user, password_hash)
        else:
            await users.change_password(session, SystemActor("cli"), user, password_hash)

    try:
        email = asyncio.run(_on_login(url, args, work))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    then = "; it must be changed at the next sign-in" if args.temporary else ""
    print(f"password of {email} set; its sessions have ended{then}")
    return 0


def _target(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="a staff login's email")
    who.add_argument("--id", type=uuid.UUID, help="any login's id (see `seatlease user list`)")


def add_commands(user: Any, run: Any) -> None:
    """The subcommands under `seatlease user`; ``run(fn)`` wraps a ``fn(url, args)`` into a command."""
    ls = user.add_parser("list", help="list logins (staff and clients')")
    ls.add_argument("--role")
    ls.add_argument("--client-id", type=uuid.UUID)
    ls.add_argument("--email", help="part of the address")
    ls.add_argument("--active", choices=("yes", "no"))
    ls.set_defaults(func=run(cmd_list))

    disable = user.add_parser("disable", help="disable a login: every session of it ends at once")
    _target(disable)
    disable.set_defaults(func=run(lambda url, args: cmd_set_active(url, args, False)))

    enable = user.add_parser("enable", help="enable a disabled login again")
    _target(enable)
    enable.set_defaults(func=run(lambda url, args: cmd_set_active(url, args, True)))

    setpw = user.add_parser("set-password", help="set a login's password (prompted, or --password-stdin); its sessions end")
    _target(setpw)
    setpw.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    setpw.add_argument("--temporary", action="store_true", help="the user must change it at the next sign-in")
    setpw.set_defaults(func=run(cmd_set_password))
