"""Secrets are shown once and never stored in plain text nor logged; tenants see only their own."""

from __future__ import annotations

import importlib.util
import logging
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from provisioning.reconciler import Reconciler
from tests.factories import Api, ClientLogin, make_world
from tests.provisioning.helpers import seated_lease, until


async def test_secret_revealed_once_never_stored_nor_logged(
    staff: Api,
    db: asyncpg.Pool,
    http: httpx.AsyncClient,
    client_login: ClientLogin,
    reconcilers: Callable[..., Reconciler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    rec = reconcilers()
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=2)

    async def active() -> bool:
        items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
        return bool(items) and all(c["state"] == "active" for c in items)

    await until(rec, active)
    items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
    directory = next(c for c in items if c["kind"] == "directory")
    badge = next(c for c in items if c["kind"] == "badge")
    assert directory["secret_available"] is True

    owner = await client_login(w.client["id"])
    other_world = await make_world(staff)
    stranger = await client_login(other_world.client["id"])
    viewer = await client_login(w.client["id"], role="client_viewer")
    # another tenant's credential does not exist for them; a viewer may not reveal
    await stranger.call("POST", f"/v1/credentials/{directory['id']}/reveal", 404)
    await stranger.call("GET", f"/v1/leases/{lease['id']}/credentials", 404)
    await viewer.call("POST", f"/v1/credentials/{directory['id']}/reveal", 403)
    assert len((await viewer.get(f"/v1/leases/{lease['id']}/credentials"))["items"]) == len(items)
    await owner.call("POST", f"/v1/credentials/{badge['id']}/reveal", 409)

    r = await owner.call("POST", f"/v1/credentials/{directory['id']}/reveal", 200)
    assert r.headers["cache-control"] == "no-store"
    secret = r.json()["secret"]
    assert len(secret) >= 16
    await owner.call("POST", f"/v1/credentials/{directory['id']}/reveal", 410)
    await staff.call("POST", f"/v1/credentials/{directory['id']}/reveal", 410)

    secrets = [secret]
    wifi = [c for c in items if c["kind"] == "wifi"]
    if wifi:
        secrets.append((await staff.call("POST", f"/v1/credentials/{wifi[0]['id']}/reveal", 200)).json()["secret"])

    # more work after the reveal, so that any logging of later passes is captured too
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": lease["start_date"]}, expect=200)
    await until(rec, lambda: _all_revoking(staff, lease["id"]))

    for s in secrets:
        assert s not in caplog.text
        for rec_ in caplog.records:
            assert s not in rec_.getMessage()
        # nowhere in our database in clear: credentials, audit events, anything text-like
        for table in ("credentials", "audit_events", "idempotency_keys"):
            hits = await db.fetchval(f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'", s)
            assert hits == 0, table
    row = await db.fetchrow(
        "SELECT secret_ciphertext, secret_revealed_at FROM credentials WHERE id = $1", uuid.UUID(directory["id"])
    )
    assert row["secret_ciphertext"] is None
    assert row["secret_revealed_at"] is not None
    unrevealed = await db.fetchval(
        "SELECT secret_ciphertext FROM credentials WHERE lease_id = $1 AND kind = 'directory' AND id <> $2",
        uuid.UUID(lease["id"]),
        uuid.UUID(directory["id"]),
    )
    assert unrevealed is not None
    assert b"gAAAAA" in unrevealed, "sealed with Fernet, not plain"
    audit = await db.fetch(
        "SELECT actor, after FROM audit_events WHERE action = 'credential.reveal' AND object_id = $1", directory["id"]
    )
    assert len(audit) == 1


async def _all_revoking(staff: Api, lease_id: str) -> bool:
    items = (await staff.get(f"/v1/leases/{lease_id}/credentials"))["items"]
    return all(c["state"] == "revoking" for c in items)


async def test_reveal_before_provisioning_and_unknown(staff: Api, reconcilers: Callable[..., Reconciler]) -> None:
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)
    rec = reconcilers(scim_base_url="http://127.0.0.1:9/v2", badge_webhook_url=None, radius_database_url=None)
    await rec.derive()
    items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
    assert items
    assert items[0]["state"] == "pending"
    r = await staff.call("POST", f"/v1/credentials/{items[0]['id']}/reveal", 409)
    assert r.headers["content-type"].startswith("application/problem+json")
    await staff.call("POST", f"/v1/credentials/{uuid.uuid4()}/reveal", 404)
    await staff.call("POST", "/v1/credentials/not-a-uuid/reveal", 422)
    r = await staff.call("GET", "/v1/provisioning/credentials", 422, params={"state": "bogus"})
    assert "state" in r.text


async def test_operations_routes_need_staff(staff: Api, client_login: ClientLogin, finance: Api) -> None:
    w = await make_world(staff)
    owner = await client_login(w.client["id"])
    await owner.call("GET", "/v1/provisioning/credentials", 403)
    await owner.call("POST", f"/v1/provisioning/credentials/{uuid.uuid4()}/retry", 403)
    await finance.call("GET", "/v1/provisioning/credentials", 403)
    assert "credentials_active_without_lease" in await finance.get("/v1/provisioning/kpis")
    if importlib.util.find_spec("service.api.billing") is not None:
        merged = await finance.get("/v1/reports/kpis")
        own = await finance.get("/v1/provisioning/kpis")
        assert merged["credentials_active_without_lease"] == own["credentials_active_without_lease"]
        assert "p99_seconds" in merged["revocation_lag"]


async def test_kpis_and_prometheus_metrics(staff: Api, http: httpx.AsyncClient, reconcilers: Callable[..., Reconciler]) -> None:
    rec = reconcilers(radius_database_url=None)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)

    async def active() -> bool:
        items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
        return bool(items) and all(c["state"] == "active" for c in items)

    await until(rec, active)
    k = await staff.get("/v1/provisioning/kpis")
    assert k["provisioning_lead_time"]["count"] >= 2
    assert k["provisioning_lead_time"]["p50_seconds"] is not None
    assert k["provisioning_lead_time"]["max_seconds"] >= k["provisioning_lead_time"]["p50_seconds"]
    r = await http.get("/metrics", headers=staff.headers)  # /metrics needs a staff or scrape token
    assert r.status_code == 200
    body = r.text
    assert 'seatlease_provisioning_lead_time_seconds{quantile="0.99"}' in body
    assert "seatlease_credentials_active_without_lease 0.0" in body
    assert 'seatlease_credentials{state="active"}' in body
