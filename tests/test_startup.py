"""Starting and stopping seatlease (issue 8): the server's key, the first admin login, the working
directory, the embedded PostgreSQL's life and a taken port. Each command runs as a user runs it."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
import yaml
from jose import jwt

from service.auth import ALGORITHM
from service.embedded import UnsafeKeyFile, load_or_create_secret_key
from service.settings import get_settings
from tests.conftest import create_database, drop_database, make_user
from tests.processes import free_port, wait_healthy

# what a user types: the console script (python -m would put the working directory on sys.path itself)
SEATLEASE = str(Path(sys.executable).parent / "seatlease")
OLD_CONSTANT_KEY = "dev-insecure-change-me-" + "0" * 16
KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def _env(**over: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SEATLEASE_SECRET_KEY")}
    env["SEATLEASE_SECRET_KEY"] = os.environ["SEATLEASE_SECRET_KEY"]
    for k, v in over.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.fixture
def fresh_db(server_url: str) -> Iterator[str]:
    name = f"start_{uuid.uuid4().hex[:10]}"
    yield create_database(server_url, name).replace("postgresql+asyncpg://", "postgresql://", 1)
    drop_database(server_url, name)


def _one_line_refusal(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SEATLEASE_SECRET_KEY" in lines[0], lines[0]
    assert KEY_HINT in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _token(base: str, email: str, password: str) -> str:
    r = httpx.post(base + "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _forged(token: str, key: str) -> str:
    """The same claims as a real token, signed with another key."""
    return jwt.encode(jwt.get_unverified_claims(token), key, algorithm=ALGORITHM)


def _status(base: str, token: str) -> int:
    return httpx.get(base + "/v1/sites", headers={"Authorization": f"Bearer {token}"}).status_code


def _stop_and_check_postgres(proc: subprocess.Popen[str], sig: signal.Signals, data_dir: Path) -> str:
    pg_pid = _postmaster_pid(data_dir)
    assert not _gone(pg_pid)
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, out
    deadline = time.monotonic() + 15
    while not _gone(pg_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gone(pg_pid), f"the embedded PostgreSQL ({pg_pid}) still runs after {sig.name}"
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    return out


# ---- 1, 2 and 4: the first start on the embedded database, and the next ----------------------


def test_first_start_makes_a_private_key_keeps_the_password_out_of_the_log_and_stops_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _env(SEATLEASE_SECRET_KEY=None, SEATLEASE_DATA_DIR=str(data_dir))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [SEATLEASE, "up", "--no-demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(base, proc)
        key_file, login_file = data_dir / "secret_key", data_dir / "admin-login.txt"
        for f in (key_file, login_file):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        key = key_file.read_text().strip()
        assert len(key.encode()) >= 32
        login = dict(line.split(": ", 1) for line in login_file.read_text().splitlines())
        token = _token(base, login["email"], login["password"])
        assert _status(base, token) == 200
        # a token signed with the old constant (or any other key) is refused
        assert _status(base, _forged(token, OLD_CONSTANT_KEY)) == 401
        assert _status(base, _forged(token, key)) == 200  # the control: the same claims with the kept key
        out = _stop_and_check_postgres(proc, signal.SIGTERM, data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert login["password"] not in out
    assert f"admin login created: admin@seatlease.dev; its password is in {login_file}" in out
    assert out.index("admin login created") < out.index("seatlease is running")
    # --no-demo starts no demo target (issue 13): the output says each is off and what turns it on
    assert "Wi-Fi logins: off (set RADIUS_DATABASE_URL" in out
    assert "directory accounts: off (set SCIM_BASE_URL and SCIM_TOKEN" in out
    assert not (data_dir / "demo-scim-token").exists()

    # the next start reuses the key: the token issued before still works; Ctrl-C stops PostgreSQL too
    proc = subprocess.Popen(
        [SEATLEASE, "up", "--no-demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(base, proc)
        assert key_file.read_text().strip() == key
        assert _status(base, token) == 200
        out = _stop_and_check_postgres(proc, signal.SIGINT, data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "an admin login exists already" in out
    assert "Traceback" not in out


def test_the_key_file_is_made_owner_only_whatever_the_umask_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key, path, created = load_or_create_secret_key(tmp_path / "d")
    finally:
        os.umask(old)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(tmp_path / "d") == (key, path, False)
    path.chmod(0o644)
    with pytest.raises(UnsafeKeyFile, match="chmod 600"):
        load_or_create_secret_key(tmp_path / "d")


def test_on_a_terminal_the_password_is_shown_once_and_written_nowhere(fresh_db: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [SEATLEASE, "up", "--no-demo", "--port", str(port)],
        env=_env(DATABASE_URL=fresh_db, SEATLEASE_DATA_DIR=str(data_dir)),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 120
        while b"seatlease is running" not in seen and time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        text = seen.decode()
        assert "seatlease is running" in text, text
        line = next(ln for ln in text.splitlines() if ln.startswith("admin login created:"))
        email, password = line.split(":", 1)[1].split("(")[0].strip().split(" / ")
        assert _status(base, _token(base, email, password)) == 200
        assert not (data_dir / "admin-login.txt").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(master)


def test_without_a_writable_data_folder_no_admin_is_made_and_no_password_is_shown(fresh_db: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = subprocess.run(
        [SEATLEASE, "up", "--no-demo", "--port", str(free_port())],
        env=_env(DATABASE_URL=fresh_db, SEATLEASE_DATA_DIR=str(blocker / "data")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"error: cannot write the first admin's password to {blocker}")
    assert "Traceback" not in result.stderr
    assert "admin login created" not in result.stdout
    admins = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio, asyncpg, sys\n"
            "async def main():\n"
            "    c = await asyncpg.connect(sys.argv[1])\n"
            "    print(await c.fetchval(\"SELECT count(*) FROM users WHERE role = 'admin'\"))\n"
            "asyncio.run(main())",
            fresh_db,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert admins.stdout.strip() == "0"


# ---- 4: a taken port --------------------------------------------------------------------------


def test_a_taken_port_is_one_clear_error_and_no_success_line(fresh_db: str, tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [SEATLEASE, "up", "--no-demo", "--port", str(port)],
            env=_env(DATABASE_URL=fresh_db, SEATLEASE_DATA_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert "seatlease is running" not in result.stdout + result.stderr
    assert result.stderr.strip() == f"error: port {port} on 127.0.0.1 is in use; choose another with --port"


# ---- 1 and 5: nothing else runs without a key -------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "x" * 31], ids=["unset", "empty", "31 bytes"])
def test_the_asgi_app_refuses_to_load_without_a_real_key(key: str | None, fresh_db: str) -> None:
    env = _env(SEATLEASE_SECRET_KEY=key, DATABASE_URL=fresh_db)
    _one_line_refusal(
        subprocess.run(
            [sys.executable, "-c", "import service.asgi"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    )


def test_uvicorn_refuses_to_start_the_app_without_a_key(fresh_db: str) -> None:
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    result = subprocess.run(
        [uvicorn, "service.asgi:app", "--port", str(free_port())],
        env=_env(SEATLEASE_SECRET_KEY=None, DATABASE_URL=fresh_db),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _one_line_refusal(result)


@pytest.mark.parametrize("command", [["up", "--no-demo"], ["worker", "--once"]], ids=["up", "worker"])
def test_up_on_database_url_and_the_worker_refuse_without_a_key(command: list[str], fresh_db: str, tmp_path: Path) -> None:
    env = _env(SEATLEASE_SECRET_KEY=None, DATABASE_URL=fresh_db, SEATLEASE_DATA_DIR=str(tmp_path))
    args = command + (["--port", str(free_port())] if command[0] == "up" else [])
    _one_line_refusal(subprocess.run([SEATLEASE, *args], env=env, capture_output=True, text=True, timeout=120, check=False))
    assert not (tmp_path / "secret_key").exists()


def test_migrate_needs_no_key(fresh_db: str) -> None:
    result = subprocess.run(
        [SEATLEASE, "migrate"],
        env=_env(SEATLEASE_SECRET_KEY=None, DATABASE_URL=fresh_db),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


async def test_a_token_signed_with_the_old_constant_is_refused(http: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "admin")
    user_id = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    s = get_settings()
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": "admin",
        "cid": None,
        "name": "forged",
        "iss": s.jwt_issuer,
        "aud": s.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "knd": "user",
        "ver": 0,  # a live account's current token version: only the key is wrong
    }
    forged = jwt.encode(claims, OLD_CONSTANT_KEY, algorithm=ALGORITHM)
    r = await http.get("/v1/audit-events", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401, r.text
    real = jwt.encode(claims, s.secret_key, algorithm=ALGORITHM)  # the control
    assert (await http.get("/v1/audit-events", headers={"Authorization": f"Bearer {real}"})).status_code == 200


ROOT = Path(__file__).resolve().parent.parent


def test_the_deployment_files_require_a_key_and_bake_none_in() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("api", "worker"):
        assert services[name]["environment"]["SEATLEASE_SECRET_KEY"].startswith("${SEATLEASE_SECRET_KEY:?"), name
    assert "SEATLEASE_SECRET_KEY" not in services["migrate"]["environment"]  # migrate needs none
    assert "SEATLEASE_SECRET_KEY" not in "".join(
        ln for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith(("ENV", "ARG"))
    )
    if shutil.which("docker-compose"):
        env = {k: v for k, v in os.environ.items() if k != "SEATLEASE_SECRET_KEY"}
        result = subprocess.run(
            ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert "SEATLEASE_SECRET_KEY" in result.stderr


# ---- 3: the working directory is never on the import path -------------------------------------


def test_no_code_is_imported_from_the_working_directory(fresh_db: str, tmp_path: Path) -> None:
    trap = tmp_path / "cwd"
    trap.mkdir()
    marker = tmp_path / "imported-from-cwd"
    for name in ("billing", "service", "domain", "provisioning", "migrations", "env"):
        (trap / f"{name}.py").write_text(
            f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\nraise ImportError('shadowed {name}')\n"
        )
    env = _env(DATABASE_URL=fresh_db, SEATLEASE_DATA_DIR=str(tmp_path / "data"))
    migrate = subprocess.run([SEATLEASE, "migrate"], env=env, cwd=trap, capture_output=True, text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stderr
    made = subprocess.run(
        [SEATLEASE, "user", "create", "--email", "cwd@facility-example.com", "--password", "long enough pw", "--role", "finance"],
        env=env,
        cwd=trap,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert not marker.exists(), marker.read_text()
