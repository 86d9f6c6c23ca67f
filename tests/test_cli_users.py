"""`seatlease user list | disable | enable | set-password` (issue 13), run as a user runs them: as a
subprocess on a fresh database. Passwords come from stdin or a prompt, never only from argv."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg

from service.auth import verify_secret
from service.dburl import connect_kwargs
from tests.test_cli import fresh_db, run  # noqa: F401  (fresh_db is a fixture)


def _row(url: str, email: str) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(**connect_kwargs(url, application_name="tests"))
        try:
            return await conn.fetchrow(
                "SELECT active, token_version, password_hash, password_change FROM users WHERE email = $1", email
            )
        finally:
            await conn.close()

    return asyncio.run(go())


def test_list_disable_enable_and_set_password(fresh_db: str, tmp_path: Path) -> None:  # noqa: F811
    env = {**os.environ, "DATABASE_URL": fresh_db, "SEATLEASE_DATA_DIR": str(tmp_path)}
    assert run(["migrate"], env).returncode == 0
    made = run(
        ["user", "create", "--email", "ops@facility-example.com", "--password-stdin", "--role", "facility_staff"],
        env,
        stdin="first password 1\n",
    )
    assert made.returncode == 0, made.stderr
    assert verify_secret(_row(fresh_db, "ops@facility-example.com")["password_hash"], "first password 1")
    run(
        ["user", "create", "--email", "money@facility-example.com", "--password-stdin", "--role", "finance"],
        env,
        stdin="first password 2\n",
    )

    listed = run(["user", "list"], env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["EMAIL", "ROLE", "CLIENT", "STATE"]
    assert any(ln.split()[:4] == ["ops@facility-example.com", "facility_staff", "-", "active"] for ln in lines)
    only = run(["user", "list", "--role", "finance"], env).stdout.splitlines()[1:]
    assert [ln.split()[0] for ln in only] == ["money@facility-example.com"]

    before = _row(fresh_db, "ops@facility-example.com")["token_version"]
    off = run(["user", "disable", "--email", "OPS@facility-example.com"], env)
    assert off.returncode == 0, off.stderr
    assert "sessions have ended" in off.stdout
    row = _row(fresh_db, "ops@facility-example.com")
    assert row["active"] is False
    assert row["token_version"] == before + 1
    assert "disabled" in run(["user", "list", "--active", "no"], env).stdout
    assert run(["user", "enable", "--email", "ops@facility-example.com"], env).returncode == 0
    assert _row(fresh_db, "ops@facility-example.com")["active"] is True

    setpw = run(
        ["user", "set-password", "--email", "ops@facility-example.com", "--password-stdin"], env, stdin="second password 1\n"
    )
    assert setpw.returncode == 0, setpw.stderr
    row = _row(fresh_db, "ops@facility-example.com")
    assert verify_secret(row["password_hash"], "second password 1")
    assert row["token_version"] == before + 2  # the password change ended its sessions too
    temp = run(
        ["user", "set-password", "--email", "ops@facility-example.com", "--password-stdin", "--temporary"],
        env,
        stdin="temporary pass 1\n",
    )
    assert temp.returncode == 0, temp.stderr
    assert _row(fresh_db, "ops@facility-example.com")["password_change"] == "required"

    # no terminal and no --password-stdin: refused, nothing changed
    blind = run(["user", "set-password", "--email", "ops@facility-example.com"], env, stdin="")
    assert blind.returncode == 2
    assert "--password-stdin" in blind.stderr
    short = run(["user", "set-password", "--email", "ops@facility-example.com", "--password-stdin"], env, stdin="short\n")
    assert short.returncode == 2
    unknown = run(["user", "disable", "--email", "nobody@facility-example.com"], env)
    assert unknown.returncode == 1
    assert "no such login" in unknown.stderr


def test_the_last_admin_is_not_disabled_and_the_first_admin_is_told_to_change_it(fresh_db: str, tmp_path: Path) -> None:  # noqa: F811
    env = {**os.environ, "DATABASE_URL": fresh_db, "SEATLEASE_DATA_DIR": str(tmp_path)}
    assert run(["migrate"], env).returncode == 0
    from service.cli import _ensure_admin
    from service.settings import get_settings

    _ensure_admin(get_settings().model_copy(update={"data_dir": tmp_path}), fresh_db)
    assert (tmp_path / "admin-login.txt").exists()
    assert _row(fresh_db, "admin@seatlease.dev")["password_change"] == "suggested"
    last = run(["user", "disable", "--email", "admin@seatlease.dev"], env)
    assert last.returncode == 1
    assert "last active admin" in last.stderr
