"""Webhook endpoints: tenant isolation (another client's endpoints, deliveries and events are 404 and
never sent to it), the facility's own endpoints, the SSRF rules (at save time and at delivery time),
the secret sealed at rest and never logged, a rotation's overlap, and the event catalog the trigger
applies, in the transaction of the change."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from domain.models.webhook import WebhookEvent
from domain.services.audit import SystemActor, record
from domain.webhooks import signing
from domain.webhooks.catalog import EVENT_TYPES, SOURCES, trigger_case
from tests.factories import Api, ClientLogin, lease_body, make_world
from tests.webhooks.conftest import drain, sender, subscribe
from tests.webhooks.receiver import receiver, verify


def _problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.mark.usefixtures("open_targets")
async def test_a_client_never_receives_nor_sees_another_clients_events(
    app: FastAPI, staff: Api, admin: Api, client_login: ClientLogin
) -> None:
    a, b = await make_world(staff), await make_world(staff)
    client_a, client_b = await client_login(a.client["id"]), await client_login(b.client["id"])
    types = ["lease.confirmed"]
    with receiver() as rx:
        ep_a = await subscribe(client_a, rx, "a", types)
        ep_b = await subscribe(client_b, rx, "b", types)
        ep_f = await subscribe(admin, rx, "facility", types, facility=True)
        assert ep_f["client_id"] is None
        await staff.post("/v1/leases", lease_body(a, seat_count=1))
        await staff.post("/v1/leases", lease_body(b, seat_count=1))
        await drain(app.state.sessionmaker, sender(app))
        assert [g.body["client_id"] for g in rx.at("a")] == [a.client["id"]]
        assert [g.body["client_id"] for g in rx.at("b")] == [b.client["id"]]
        assert sorted(g.body["client_id"] for g in rx.at("facility")) == sorted([a.client["id"], b.client["id"]])
    [d_a] = (await client_a.get(f"/v1/webhook-endpoints/{ep_a['id']}/deliveries"))["items"]
    # B sees none of A's: every route answers 404
    assert [e["id"] for e in await client_b.get("/v1/webhook-endpoints")] == [ep_b["id"]]
    for method, path, body in [
        ("GET", f"/v1/webhook-endpoints/{ep_a['id']}", None),
        ("PATCH", f"/v1/webhook-endpoints/{ep_a['id']}", {"description": "mine now"}),
        ("DELETE", f"/v1/webhook-endpoints/{ep_a['id']}", None),
        ("POST", f"/v1/webhook-endpoints/{ep_a['id']}/rotate-secret", None),
        ("POST", f"/v1/webhook-endpoints/{ep_a['id']}/pause", None),
        ("POST", f"/v1/webhook-endpoints/{ep_a['id']}/resume", None),
        ("GET", f"/v1/webhook-endpoints/{ep_a['id']}/deliveries", None),
        ("GET", f"/v1/webhook-deliveries/{d_a['id']}", None),
        ("POST", f"/v1/webhook-deliveries/{d_a['id']}/redeliver", None),
        ("GET", f"/v1/webhook-endpoints/{ep_f['id']}", None),
    ]:
        _problem(await client_b.call(method, path, json=body), 404)
    # nor make one for A's client, nor a facility one
    _problem(
        await client_b.call(
            "POST", "/v1/webhook-endpoints", json={"url": rx.url("x"), "event_types": types, "client_id": a.client["id"]}
        ),
        404,
    )
    _problem(
        await client_b.call("POST", "/v1/webhook-endpoints", json={"url": rx.url("x"), "event_types": types, "facility": True}),
        403,
        "facility",
    )
    # a viewer and the facility's other staff may not manage endpoints
    viewer = await client_login(a.client["id"], "client_viewer")
    _problem(await viewer.call("GET", "/v1/webhook-endpoints"), 403)
    _problem(await staff.call("GET", "/v1/webhook-endpoints"), 403)
    # the admin sees them all; A's endpoint is unchanged
    assert {ep_a["id"], ep_b["id"], ep_f["id"]} <= {e["id"] for e in await admin.get("/v1/webhook-endpoints")}
    assert (await client_a.get(f"/v1/webhook-endpoints/{ep_a['id']}"))["description"] == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost:5432/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "http://example.com/hook",
        "https://user:pw@example.com/hook",
        "ftp://example.com/hook",
        "https://no-such-host.invalid/hook",
    ],
)
async def test_unsafe_targets_are_refused_naming_the_url(client_login: ClientLogin, staff: Api, url: str) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    client = await client_login(w.client["id"])
    body = _problem(
        await client.call("POST", "/v1/webhook-endpoints", json={"url": url, "event_types": ["lease.confirmed"]}), 422, "url"
    )
    assert body["detail"]
    assert await client.get("/v1/webhook-endpoints") == []


async def test_a_target_re_pointed_inside_is_refused_at_delivery(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    client = await client_login(w.client["id"])
    before = app.state.settings
    with receiver() as rx:
        app.state.settings = before.model_copy(update={"webhook_allow_http": True, "webhook_allow_private_targets": True})
        try:
            ep = await subscribe(client, rx, "inside", ["lease.confirmed"])
        finally:
            app.state.settings = before.model_copy(update={"webhook_allow_http": True})  # private targets refused again
        try:
            await staff.post("/v1/leases", lease_body(w, seat_count=1))
            report = await drain(app.state.sessionmaker, sender(app))
        finally:
            app.state.settings = before
        assert rx.hits == 0
    assert report["retry"] >= 1
    [d] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
    assert d["status"] == "pending"
    assert d["last_error"].startswith("refused: the URL points at 127.0.0.1")


@pytest.mark.usefixtures("open_targets")
async def test_the_secret_is_sealed_at_rest_never_logged_and_rotation_overlaps(
    app: FastAPI, staff: Api, client_login: ClientLogin, db: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = await make_world(staff, zones=1, seats_per_zone=4)
    client = await client_login(w.client["id"])
    with receiver() as rx:
        ep = await subscribe(client, rx, "rot", ["lease.confirmed"])
        old = ep["secret"]
        row = await db.fetchrow("SELECT * FROM webhook_endpoints WHERE id = $1", uuid.UUID(ep["id"]))
        assert old.encode() not in bytes(row["secret_ciphertext"])
        assert signing.unseal(app.state.settings.secret_key, bytes(row["secret_ciphertext"]), endpoint_id=ep["id"]) == old
        # sealed to its endpoint: another endpoint's row cannot open it
        assert (
            signing.unseal(app.state.settings.secret_key, bytes(row["secret_ciphertext"]), endpoint_id=str(uuid.uuid4())) is None
        )
        # shown once: never again
        assert "secret" not in await client.get(f"/v1/webhook-endpoints/{ep['id']}")
        assert all("secret" not in e for e in await client.get("/v1/webhook-endpoints"))
        rotated = await client.post(f"/v1/webhook-endpoints/{ep['id']}/rotate-secret", expect=200)
        new = rotated["secret"]
        assert new != old
        assert rotated["previous_secret_until"] is not None
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        rx.secrets["/hook/rot"] = [old]  # a receiver that has not swapped yet still verifies
        await drain(app.state.sessionmaker, sender(app))
        [got] = rx.at("rot")
        assert verify(new, got.headers["seatlease-signature"], got.raw)
        assert got.headers["seatlease-signature"].count("v1=") == 2
        # with no overlap, the old secret ends at once
        app.state.settings = app.state.settings.model_copy(update={"webhook_rotation_overlap_hours": 0.0})
        latest = (await client.post(f"/v1/webhook-endpoints/{ep['id']}/rotate-secret", expect=200))["secret"]
        assert (await client.get(f"/v1/webhook-endpoints/{ep['id']}"))["previous_secret_until"] is None
        rx.secrets["/hook/rot"] = [new]
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        await drain(app.state.sessionmaker, sender(app))
        assert rx.rejected == ["/hook/rot"]
    logged = caplog.text + str([r.__dict__ for r in caplog.records])
    for s in (old, new, latest):
        assert s not in logged
    audit = await db.fetch("SELECT after::text AS a FROM audit_events WHERE object_id = $1", ep["id"])
    assert audit
    assert all(s not in (r["a"] or "") for r in audit for s in (old, new, latest))


async def test_the_catalog_is_what_the_trigger_applies_and_the_event_rolls_back_with_the_change(
    app: FastAPI, admin: Api, http: httpx.AsyncClient
) -> None:
    maker = app.state.sessionmaker
    async with maker() as s:
        body = await s.scalar(text("SELECT pg_get_functiondef('webhook_events_from_audit'::regproc)"))
    assert trigger_case() in body
    assert {src.event_type for src in SOURCES} <= set(EVENT_TYPES)
    types = {t["type"]: t for t in await admin.get("/v1/webhook-event-types")}
    assert set(types) == set(EVENT_TYPES)
    assert types["ticket.updated"]["emitted"] is True  # the help desk emits it (issue 15)
    assert types["lease.confirmed"]["emitted"] is True
    # a facility endpoint for every type, so each change below is an event
    before = app.state.settings
    app.state.settings = before.model_copy(update={"webhook_allow_private_targets": True, "webhook_allow_http": True})
    try:
        await admin.post(
            "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/x", "event_types": list(EVENT_TYPES), "facility": True}
        )
    finally:
        app.state.settings = before
    marker = str(uuid.uuid4())
    async with maker() as s:
        await s.begin()
        await record(s, SystemActor("test"), "invoice.paid", "invoice", marker, after={"status": "paid"})
        await s.flush()
        assert await s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.data["id"].astext == marker)) == 1
        await s.rollback()
    async with maker() as s, s.begin():
        assert await s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.data["id"].astext == marker)) == 0
        # each source action, once per change, with the status condition
        for src in SOURCES:
            oid = str(uuid.uuid4())
            after = {"status": src.statuses[0]} if src.statuses else {}
            await record(s, SystemActor("test"), src.action, "x", oid, after=after)
            await s.flush()
            got = (await s.scalars(select(WebhookEvent.type).where(WebhookEvent.data["id"].astext == oid))).all()
            assert got == [src.event_type], src
        oid = str(uuid.uuid4())
        await record(s, SystemActor("test"), "lease.create", "lease", oid, after={"status": "pending_approval"})
        await record(s, SystemActor("test"), "lease.price_step", "lease", oid, after={})
        await s.flush()
        assert await s.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.data["id"].astext == oid)) == 0
        await s.rollback()


def test_the_readme_recipe_is_the_one_the_tests_receiver_runs() -> None:
    import inspect
    from pathlib import Path

    from tests.webhooks import receiver as rx_module

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    recipe = inspect.getsource(rx_module.verify).strip()
    assert recipe in readme
    assert "tolerance: int = 300" in recipe  # the documented window: 5 minutes


@pytest.mark.usefixtures("open_targets")
async def test_an_endpoint_is_changed_with_the_same_checks_and_bad_input_names_its_field(
    app: FastAPI, staff: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=1)
    client = await client_login(w.client["id"])
    ep = await client.post("/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/a", "event_types": ["lease.confirmed"]})
    path = f"/v1/webhook-endpoints/{ep['id']}"
    changed = await client.call(
        "PATCH", path, 200, json={"event_types": ["invoice.paid", "lease.ended", "invoice.paid"], "description": "AP"}
    )
    assert changed.json()["event_types"] == ["lease.ended", "invoice.paid"]  # the catalog's order, once each
    assert changed.json()["description"] == "AP"
    _problem(await client.call("PATCH", path, json={"event_types": ["lease.exploded"]}), 422, "event_types")
    _problem(await client.call("PATCH", path, json={"event_types": []}), 422, "event_types")
    _problem(await client.call("PATCH", path, json={"url": None}), 422, "url")
    _problem(await client.call("POST", "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/b"}), 422, "event_types")
    before = app.state.settings
    app.state.settings = before.model_copy(update={"webhook_allow_private_targets": False})
    try:
        _problem(await client.call("PATCH", path, json={"url": "http://10.0.0.1/x"}), 422, "url")
    finally:
        app.state.settings = before
    assert (await client.get(path))["url"] == "http://127.0.0.1:9/a"  # a refused change changed nothing
