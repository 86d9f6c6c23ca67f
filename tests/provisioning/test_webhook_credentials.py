"""Credential state changes made by the real reconciler (its audit rows are written with COPY, in
the claim's transaction) reach a client's webhook endpoint as credential.active and
credential.revoked, signed (issue 14)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import asyncpg
import pytest
from fastapi import FastAPI

from provisioning.reconciler import Reconciler
from tests.factories import Api, ClientLogin, make_world
from tests.provisioning.helpers import seated_lease, site_today, until
from tests.webhooks.conftest import drain, sender, subscribe
from tests.webhooks.receiver import receiver


@pytest.fixture
async def local_targets(app: FastAPI, db: asyncpg.Pool) -> AsyncIterator[None]:
    before = app.state.settings
    app.state.settings = before.model_copy(update={"webhook_allow_http": True, "webhook_allow_private_targets": True})
    await db.execute("DELETE FROM webhook_endpoints")
    yield
    app.state.settings = before
    await db.execute("DELETE FROM webhook_endpoints")


@pytest.mark.usefixtures("local_targets")
async def test_the_reconcilers_credential_changes_are_webhook_events(
    app: FastAPI, staff: Api, client_login: ClientLogin, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers()
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    with receiver() as rx:
        await subscribe(client, rx, "creds", ["credential.active", "credential.revoked"])
        lease = await seated_lease(staff, w)
        n = 3 * len(rec.providers)

        async def all_active() -> bool:
            items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
            return len(items) == n and all(c["state"] == "active" for c in items)

        await until(rec, all_active)
        await drain(app.state.sessionmaker, sender(app))
        active = rx.at("creds")
        assert [g.body["type"] for g in active] == ["credential.active"] * n
        ids = {c["id"] for c in (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]}
        assert {g.body["data"]["id"] for g in active} == ids
        assert all(g.body["data"]["change"]["lease_id"] == lease["id"] for g in active)

        yesterday = (site_today() - timedelta(days=1)).isoformat()
        await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": yesterday}, expect=200)

        async def all_revoking() -> bool:
            items = (await staff.get(f"/v1/leases/{lease['id']}/credentials"))["items"]
            return all(c["state"] == "revoking" for c in items)

        await until(rec, all_revoking)
        await drain(app.state.sessionmaker, sender(app))
        revoked = [g for g in rx.at("creds") if g.body["type"] == "credential.revoked"]
    assert {g.body["data"]["id"] for g in revoked} == ids
    assert len(revoked) == n  # once per change
    assert rx.rejected == []
