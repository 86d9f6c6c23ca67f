"""Provisioning visible from the first start (issue 13): `seatlease up` with demo data runs a real
Wi-Fi target (FreeRADIUS's tables in a `radius` database of the embedded PostgreSQL) and a real
directory (scim2-server in memory) and says so; a lease booked for today has its agent's logins in
both within seconds. Run as a user runs it: the console script, a fresh data folder."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from provisioning.providers.radius_schema import SCHEMA
from service.dburl import connect
from service.demo_targets import SCIM_TOKEN_FILE
from service.embedded import with_database
from tests.conftest import create_database, drop_database
from tests.processes import free_port, stop, wait_healthy

SEATLEASE = str(Path(sys.executable).parent / "seatlease")
PACKAGED_RADIUS_SCHEMA = Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql")


def _poll(fn: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


async def _radcheck(url: str, username: str) -> list[dict[str, Any]]:
    conn = await connect(url)
    try:
        return [dict(r) for r in await conn.fetch("SELECT attribute, op, value FROM radcheck WHERE username = $1", username)]
    finally:
        await conn.close()


def test_up_with_demo_provisions_wifi_and_directory_within_seconds(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SEATLEASE_SECRET_KEY")}
    env["SEATLEASE_DATA_DIR"] = str(data_dir)
    for name in ("SCIM_BASE_URL", "SCIM_TOKEN", "RADIUS_DATABASE_URL"):
        env.pop(name, None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [SEATLEASE, "up", "--port", str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    scim_url = scim_token = ""
    try:
        wait_healthy(base, proc, seconds=180)
        fields = dict(ln.split(": ", 1) for ln in (data_dir / "admin-login.txt").read_text().splitlines())
        token = httpx.post(
            base + "/v1/auth/token", data={"grant_type": "password", "username": fields["email"], "password": fields["password"]}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        api = httpx.Client(base_url=base, headers=h, timeout=30)

        # the demo's leases active today already hold active credentials of both kinds
        def demo_active() -> set[str]:
            items = api.get("/v1/provisioning/credentials", params={"state": "active", "limit": 200}).json()["items"]
            return {c["kind"] for c in items}

        assert _poll(demo_active, 60) == {"wifi", "directory"}

        # book a lease that starts today, seat a new agent
        site = next(s for s in api.get("/v1/sites").json()["items"] if s["code"] == "MNL-1")
        plan = next(p for p in api.get("/v1/plans", params={"limit": 100}).json()["items"] if p["site_id"] == site["id"])
        client = api.get("/v1/clients").json()["items"][0]
        team = api.post(f"/v1/clients/{client['id']}/teams", json={"name": "Demo check " + uuid.uuid4().hex[:6]}).json()
        member = api.post(
            f"/v1/teams/{team['id']}/members",
            json={"name": "Dana Demo", "email": f"dana.{uuid.uuid4().hex[:6]}@northwind-contact.com", "employee_id": "DD001"},
        ).json()
        today = datetime.now(ZoneInfo(site["timezone"])).date().isoformat()
        r = api.post(
            "/v1/leases",
            json={
                "client_id": client["id"],
                "team_id": team["id"],
                "site_id": site["id"],
                "plan_id": plan["id"],
                "shift": "FULL",
                "start_date": today,
                "seat_count": 1,
            },
        )
        assert r.status_code == 201, r.text
        lease = r.json()
        started = time.monotonic()
        seat = [{"seat_id": lease["seats"][0]["id"], "member_id": member["id"]}]
        r = api.put(f"/v1/leases/{lease['id']}/assignments", json=seat)
        assert r.status_code == 200, r.text

        def both_active() -> dict[str, dict[str, Any]] | None:
            items = api.get(f"/v1/leases/{lease['id']}/credentials").json()["items"]
            by_kind = {c["kind"]: c for c in items if c["state"] == "active"}
            return by_kind if set(by_kind) == {"wifi", "directory"} else None

        creds = _poll(both_active, 45)
        assert creds, api.get(f"/v1/leases/{lease['id']}/credentials").text
        assert time.monotonic() - started < 45

        # the Wi-Fi login is a row of FreeRADIUS's radcheck in the embedded `radius` database
        wifi = creds["wifi"]
        radius_url = with_database(_embedded_url(data_dir), "radius")
        rows = asyncio.run(_radcheck(radius_url, wifi["login"]))
        assert [(r["attribute"], r["op"]) for r in rows] == [("SSHA2-256-Password", ":=")]
        # the directory account is a user of the demo SCIM directory, found by our credential id
        directory = creds["directory"]
        scim_token = (data_dir / "demo-scim-token").read_text().strip()
        scim_url = _scim_url_of(api)
        found = httpx.get(
            scim_url + "/Users",
            params={"filter": f'externalId eq "{directory["id"]}"'},
            headers={"Authorization": f"Bearer {scim_token}"},
        ).json()["Resources"]
        assert [(u["userName"], u["active"]) for u in found] == [(directory["login"], True)]
        # without the token the directory answers nobody
        assert httpx.get(scim_url + "/Users").status_code == 401
    finally:
        out_so_far = stop(proc, signal.SIGTERM)
    # the start output names both targets and how to use real ones instead
    assert "Wi-Fi logins: FreeRADIUS tables" in out_so_far
    assert "postgresql:///radius?host=" in out_so_far
    assert "set RADIUS_DATABASE_URL" in out_so_far
    assert f"a demo SCIM 2.0 directory in memory at {scim_url}" in out_so_far
    assert "set SCIM_BASE_URL and SCIM_TOKEN" in out_so_far
    assert "--no-demo" in out_so_far
    assert out_so_far.index("directory accounts:") < out_so_far.index("seatlease is running")
    # the directory's calls do not flood the output, and the token is never printed
    assert "/v2/Users" not in out_so_far
    assert scim_token not in out_so_far
    # stopping `up` stopped the directory
    with pytest.raises(httpx.ConnectError):
        httpx.get(scim_url + "/ServiceProviderConfig", timeout=2)


def _embedded_url(data_dir: Path) -> str:
    return f"postgresql://postgres:@/postgres?host={(data_dir / 'pg').resolve()}"


def _scim_url_of(api: httpx.Client) -> str:
    """The demo directory's URL, as the integrations read-model reports it."""
    targets = {t["key"]: t for t in api.get("/v1/integrations").json()["targets"]}
    url = str(targets["directory"]["endpoint"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2", url), url
    return url


def test_the_radius_schema_is_freeradius_own(server_url: str) -> None:
    """Our FreeRADIUS tables have the packaged schema's tables, columns and types (where FreeRADIUS is
    installed to compare with), and laying them out twice changes nothing."""
    if not PACKAGED_RADIUS_SCHEMA.exists():
        pytest.skip("FreeRADIUS is not installed (apt-get install freeradius freeradius-postgresql)")
    ours, theirs = f"rad_ours_{uuid.uuid4().hex[:8]}", f"rad_pkg_{uuid.uuid4().hex[:8]}"
    urls = [create_database(server_url, n) for n in (ours, theirs)]

    packaged_sql = PACKAGED_RADIUS_SCHEMA.read_text()

    async def layout() -> list[list[tuple[str, str, str, str | None]]]:
        out = []
        for url, sql in ((urls[0], SCHEMA), (urls[1], packaged_sql)):
            conn: asyncpg.Connection = await connect(url)
            try:
                await conn.execute(sql)
                if sql is SCHEMA:
                    await conn.execute(sql)  # again: idempotent
                rows = await conn.fetch(
                    "SELECT table_name, column_name, data_type, column_default FROM information_schema.columns "
                    "WHERE table_schema = 'public' ORDER BY table_name, column_name"
                )
                out.append([(r[0], r[1], r[2], r[3]) for r in rows])
            finally:
                await conn.close()
        return out

    try:
        mine, packaged = asyncio.run(layout())
    finally:
        for n in (ours, theirs):
            drop_database(server_url, n)
    assert mine == packaged
    assert ("radcheck", "username", "text", "''::text") in mine


def test_up_on_a_database_of_real_leases_starts_no_demo_target(server_url: str, tmp_path: Path) -> None:
    """The demo's directory and Wi-Fi database start only beside the demo's data: on a database holding
    the operator's own sites, accounts granted in a throw-away directory would show active for nobody."""
    from decimal import Decimal

    from domain.services import catalog
    from domain.services.audit import SystemActor
    from domain.services.catalog_schemas import SiteCreate
    from service.db import make_engine, make_sessionmaker
    from service.migrate import upgrade

    name = f"real_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name)
    try:
        upgrade(url)

        async def own_site() -> None:
            engine = make_engine(url)
            try:
                async with make_sessionmaker(engine)() as session, session.begin():
                    site = SiteCreate(code="OWN-1", name="Own", timezone="Asia/Manila", currency="PHP", tax_rate=Decimal("0.12"))
                    await catalog.create_site(session, SystemActor("operator"), site)
            finally:
                await engine.dispose()

        asyncio.run(own_site())
        env = {k: v for k, v in os.environ.items() if k not in ("SCIM_BASE_URL", "SCIM_TOKEN", "RADIUS_DATABASE_URL")}
        env["DATABASE_URL"] = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        env["SEATLEASE_DATA_DIR"] = str(tmp_path / "data")
        port = free_port()
        proc = subprocess.Popen(
            [SEATLEASE, "up", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, seconds=180)
        finally:
            out = stop(proc, signal.SIGTERM)
    finally:
        drop_database(server_url, name)
    assert "Wi-Fi logins: off (set RADIUS_DATABASE_URL" in out
    assert "directory accounts: off (set SCIM_BASE_URL and SCIM_TOKEN" in out
    assert "demo data:" not in out
    assert not (tmp_path / "data" / SCIM_TOKEN_FILE).exists()
