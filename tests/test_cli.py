"""The `seatlease` command, run as a user runs it: as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.processes import free_port, stop, wait_healthy

SEATLEASE = [sys.executable, "-m", "service.cli"]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
def fresh_db(server_url: str) -> Iterator[str]:
    name = f"cli_{uuid.uuid4().hex[:10]}"
    yield _plain(create_database(server_url, name))
    drop_database(server_url, name)


def run(args: list[str], env: dict[str, str], timeout: int = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SEATLEASE + args, env=env, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)


def test_migrate_user_create_and_up_no_demo(fresh_db: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db, "SEATLEASE_DATA_DIR": str(tmp_path)}
    assert run(["migrate"], env).returncode == 0
    made = run(
        ["user", "create", "--email", "Ops@Facility-Example.com", "--password", "long enough pw", "--role", "facility_staff"], env
    )
    assert made.returncode == 0, made.stderr
    again = run(
        ["user", "create", "--email", "ops@facility-example.com", "--password", "long enough pw", "--role", "facility_staff"], env
    )
    assert again.returncode == 1
    assert "exists" in again.stderr
    bad = run(["user", "create", "--email", "x@facility-example.com", "--password", "pw", "--role", "admin"], env)
    assert bad.returncode == 2
    bad_role = run(
        ["user", "create", "--email", "y@facility-example.com", "--password", "long enough pw", "--role", "client_admin"], env
    )
    assert bad_role.returncode == 2

    port = free_port()
    proc = subprocess.Popen(
        [*SEATLEASE, "up", "--no-demo", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, seconds=60)
        token = httpx.post(
            base + "/v1/auth/token",
            data={"grant_type": "password", "username": "ops@facility-example.com", "password": "long enough pw"},
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert httpx.get(base + "/v1/sites", headers=headers).json()["items"] == []
    finally:
        out = stop(proc, timeout=20)
    assert "admin login created: admin@seatlease.dev" in out


def test_up_on_embedded_database_with_demo(tmp_path: Path) -> None:
    """What a new user runs: no DATABASE_URL, an embedded PostgreSQL in the data folder, demo data."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SEATLEASE_SECRET_KEY")}
    env["SEATLEASE_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    proc = subprocess.Popen(
        [*SEATLEASE, "up", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, seconds=120)
        # not a terminal: the password is in a private file in the data folder, not in the output
        fields = dict(ln.split(": ", 1) for ln in (tmp_path / "data" / "admin-login.txt").read_text().splitlines())
        login = [fields["email"], fields["password"]]
        token = httpx.post(
            base + "/v1/auth/token", data={"grant_type": "password", "username": login[0], "password": login[1]}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        sites = httpx.get(base + "/v1/sites", headers=headers).json()["items"]
        assert {s["code"] for s in sites} == {"MNL-1", "AUS-1"}
        seats = sum(len(httpx.get(f"{base}/v1/sites/{s['id']}/seats", headers=headers).json()["items"]) for s in sites)
        assert seats >= 200
        leases = httpx.get(base + "/v1/leases", headers=headers).json()["items"]
        assert len({lease["client_id"] for lease in leases}) == 2
        assert {"active", "confirmed", "pending_approval"} <= {lease["status"] for lease in leases}
    finally:
        out = stop(proc, timeout=20)
    assert login[1] not in out
