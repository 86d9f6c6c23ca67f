"""The first start is friendly (issue 13): every URL `seatlease up` prints answers, and `up --no-demo`
on a database that already holds the demo's data says so and how to start clean."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx

from tests.processes import free_port, stop, wait_healthy
from tests.test_cli import SEATLEASE
from tests.test_cli import fresh_db as fresh_db  # the fixture, shared

ROOT = Path(__file__).resolve().parents[1]


def _up(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`seatlease up` on every address, healthy, and the lines it printed up to "is running"."""
    port = free_port()
    proc = subprocess.Popen(
        [*SEATLEASE, "up", *extra, "--host", "0.0.0.0", "--port", str(port)],  # the printed URLs must still work
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc, seconds=120)
    assert proc.stdout is not None
    lines: list[str] = []
    while not any(ln.startswith("seatlease is running on ") for ln in lines):
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line.rstrip("\n"))
    return proc, lines[-1], lines


def _fetch_each(line: str) -> None:
    urls = re.findall(r"http://[^\s,)]+", line)
    assert len(urls) == 4, line
    for url in urls:
        assert "0.0.0.0" not in url, line  # an address a browser on this machine opens
        r = httpx.get(url, follow_redirects=True, timeout=10)
        assert r.status_code == 200, (url, r.status_code)
        assert "<html" in r.text.lower(), url


def test_printed_urls_answer_and_no_demo_on_demo_data_says_how_to_start_clean(fresh_db: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db, "SEATLEASE_DATA_DIR": str(tmp_path)}
    proc, line, said = _up(env)
    try:
        _fetch_each(line)  # the base (the admin's login), the admin, the client portal, the API docs
        # --- client portal (issue 14): beside the demo's data, a client_admin of its first client ---
        login = dict(ln.split(": ", 1) for ln in (tmp_path / "portal-login.txt").read_text().splitlines())
        assert login["password"] not in "\n".join(said)  # in the owner-only file, never in the output
        assert any(ln.startswith(f"client portal login (demo client, client_admin) created: {login['email']}") for ln in said)
        base = re.findall(r"http://[^\s,)]+", line)[0]
        with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as http:
            page = http.get("/portal/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            form = {"csrf_token": token.group(1), "email": login["email"], "password": login["password"]}
            r = http.post("/portal/login", data=form)
            assert r.status_code == 200  # followed to the overview
            assert str(r.url).endswith("/portal/")
            assert "Client portal" in r.text
            assert "You are still using the password printed at the first start" in r.text  # until it is changed
    finally:
        stop(proc, timeout=20)

    proc, line, said = _up(env, "--no-demo")
    try:
        _fetch_each(line)
    finally:
        out = "\n".join(said) + stop(proc, timeout=20)
    assert "already holds the demo data of an earlier `seatlease up` (2 sites, 2 clients" in out, out
    assert "to start clean: drop and recreate that database" in out, out
    assert "demo data:" not in out  # nothing seeded again


def test_no_demo_on_an_empty_database_says_it_is_empty(fresh_db: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db, "SEATLEASE_DATA_DIR": str(tmp_path)}
    proc, _, said = _up(env, "--no-demo")
    out = "\n".join(said) + stop(proc, timeout=20)
    assert "--no-demo: an empty database" in out, out
    assert "already holds" not in out


def test_start_script_and_readme_say_how_to_run_seatlease() -> None:
    script = (ROOT / "scripts" / "start.sh").read_text()
    assert 'echo "seatlease is installed at $PWD/.venv/bin/seatlease"' in script
    readme = (ROOT / "README.md").read_text()
    assert "source .venv/bin/activate" in readme
    assert ".venv/bin/seatlease" in readme
