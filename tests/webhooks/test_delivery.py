"""Webhook delivery against a real receiver on localhost that verifies every signature: events of
real use-cases arrive signed; a receiver that fails for a while gets every event; an endpoint that
keeps failing is paused, its events held and its client's admins emailed, and resuming it delivers
what was held in order; a redelivery repeats the event id; two passes at once never send one attempt
twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from domain.webhooks.deliver import deliver_due, prune_delivered
from domain.webhooks.signing import verify
from tests.factories import Api, ClientLogin, lease_body, make_world
from tests.smtp_server import smtp_server, tls_files
from tests.webhooks.conftest import drain, sender, subscribe
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.usefixtures("open_targets")

ALL = ["lease.confirmed", "lease.ending", "seat.assigned", "lease.renewed", "lease.ended"]


async def _lease_story(staff: Api, client: Api, w: Any) -> dict[str, Any]:
    """Book (confirmed), seat two agents, schedule the end: three changes, three events."""
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=2))
    s1, s2 = (s["id"] for s in lease["seats"])
    m1, m2 = (m["id"] for m in w.members[:2])
    await client.call(
        "PUT",
        f"/v1/leases/{lease['id']}/assignments",
        200,
        json=[{"seat_id": s1, "member_id": m1}, {"seat_id": s2, "member_id": m2}],
    )
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": "2031-12-31"}, expect=200)
    return lease


async def test_events_of_real_use_cases_arrive_signed(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    with receiver() as rx:
        ep = await subscribe(client, rx, "a", ALL)
        assert ep["client_id"] == w.client["id"]  # the token's client by default
        lease = await _lease_story(staff, client, w)
        report = await drain(app.state.sessionmaker, sender(app))
        assert report["retry"] == 0
        got = rx.at("a")
    assert rx.rejected == []
    assert [g.body["type"] for g in got] == ["lease.confirmed", "seat.assigned", "lease.ending"]
    for g in got:
        assert set(g.body) == {"id", "type", "created", "client_id", "data"}
        assert g.body["client_id"] == w.client["id"]
        assert g.event_id == g.body["id"]
        assert g.body["data"]["id"] == lease["id"]
        assert g.body["data"]["object"] == "lease"
        assert g.headers["seatlease-event-type"] == g.body["type"]
        # the project's own verify agrees with README's recipe; a tampered body fails both
        assert verify(ep["secret"], g.headers["seatlease-signature"], g.raw)
        tampered = g.raw.replace(b'"lease', b'"LEASE', 1)
        assert not verify(ep["secret"], g.headers["seatlease-signature"], tampered)
    assert got[1].body["data"]["change"]["assignments"]
    assert got[2].body["data"]["change"]["end_date"] == "2031-12-31"


async def test_a_tampered_body_is_rejected_by_the_receiver(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    import httpx

    w = await make_world(staff)
    client = await client_login(w.client["id"])
    with receiver() as rx:
        ep = await subscribe(client, rx, "t", ["lease.confirmed"])
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        await drain(app.state.sessionmaker, sender(app))
        [good] = rx.at("t")
        async with httpx.AsyncClient() as h:
            headers = {"Seatlease-Signature": good.headers["seatlease-signature"], "Content-Type": "application/json"}
            bad = await h.post(rx.url("t"), content=good.raw.replace(b"lease.confirmed", b"lease.ended__"), headers=headers)
            wrong_key = {**headers, "Seatlease-Signature": good.headers["seatlease-signature"].replace("v1=", "v1=0")}
            forged = await h.post(rx.url("t"), content=good.raw, headers=wrong_key)
    assert ep["secret"].startswith("whsec_")
    assert bad.status_code == 400
    assert forged.status_code == 400
    assert len(rx.rejected) == 2


async def test_a_receiver_that_fails_for_a_while_gets_every_event(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    maker = app.state.sessionmaker
    with receiver() as rx:
        await subscribe(client, rx, "f", ALL)
        await _lease_story(staff, client, w)
        rx.fail_next, rx.slow_next, rx.slow_seconds = 4, 1, 2.5  # four 500s, then one answer after the timeout
        cfg = sender(app, timeout_seconds=1.0)
        now = datetime.now(UTC)
        for step in range(12):
            await drain(maker, cfg, now + timedelta(hours=step))
        got = rx.at("f")
        log = await client.get(f"/v1/webhook-endpoints/{(await client.get('/v1/webhook-endpoints'))[0]['id']}/deliveries")
    # every event arrived, in spite of the failures (at least once: the slow one may repeat)
    assert sorted(set(rx.types("f"))) == ["lease.confirmed", "lease.ending", "seat.assigned"]
    assert len({g.event_id for g in got}) == 3
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert sum(d["attempts"] for d in log["items"]) >= 3 + 5
    detail = await client.get(f"/v1/webhook-deliveries/{log['items'][-1]['id']}")
    errors = [a["error"] for a in detail["attempt_log"] if a["error"]]
    # each failure is logged; a 500's body is kept truncated
    assert any(e == "HTTP 500" for e in errors) or any("timed out" in e for e in errors)
    for a in detail["attempt_log"]:
        assert a["response_body"] is None or len(a["response_body"]) <= 500


async def test_failures_back_off_exponentially(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    maker = app.state.sessionmaker
    with receiver() as rx:
        ep = await subscribe(client, rx, "b", ["lease.confirmed"])
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        rx.fail_next = 3
        cfg = sender(app, backoff_base_seconds=60.0, backoff_cap_seconds=10_000.0)
        t0 = datetime.now(UTC)
        waits = []
        at = t0
        for _ in range(3):
            assert (await deliver_due(maker, cfg, now=at))["retry"] == 1
            [d] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
            nxt = datetime.fromisoformat(d["next_attempt_at"])
            waits.append((nxt - at).total_seconds())
            # not due before its time
            assert (await deliver_due(maker, cfg, now=nxt - timedelta(seconds=1))) == {"delivered": 0, "retry": 0}
            at = nxt
        assert (await deliver_due(maker, cfg, now=at))["delivered"] == 1
    assert waits == [60.0, 120.0, 240.0]
    # with jitter the waits spread around the same curve
    jittery = sender(app, jitter=0.2)
    from domain.webhooks.deliver import backoff

    spread = {backoff(jittery, 3).total_seconds() for _ in range(50)}
    assert len(spread) > 1
    assert all(240 * 0.8 <= s <= 240 * 1.2 for s in spread)


async def test_a_dead_endpoint_is_paused_held_and_its_admins_told_then_resumed_in_order(
    app: FastAPI, staff: Api, client_login: ClientLogin, db: asyncpg.Pool
) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    admin_email = await db.fetchval(
        "SELECT email FROM users WHERE client_id = $1 AND role = 'client_admin' ORDER BY email LIMIT 1", uuid.UUID(w.client["id"])
    )
    maker = app.state.sessionmaker
    with receiver() as rx, smtp_server() as inbox:
        ep = await subscribe(client, rx, "p", ALL)
        await _lease_story(staff, client, w)
        rx.fail_next = 10_000
        cfg = sender(app, pause_after_failures=4, pause_after_seconds=2 * 3600.0)
        t0 = datetime.now(UTC)
        for step in range(8):
            await drain(maker, cfg, t0 + timedelta(hours=step))
        state = await client.get(f"/v1/webhook-endpoints/{ep['id']}")
        assert state["status"] == "paused"
        assert state["paused_reason"] == "HTTP 500"
        assert state["consecutive_failures"] >= 4
        log = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
        assert {d["status"] for d in log} == {"held"}
        assert len(log) == 3
        # a paused endpoint is not tried: nothing is lost, nothing is sent
        hits = rx.hits
        assert (await drain(maker, cfg, t0 + timedelta(days=3))) == {"delivered": 0, "retry": 0}
        assert rx.hits == hits
        # the client's admins are told, through the outbox
        mail_cfg = inbox.config()
        from domain.services.mail_send import send_due

        while (await send_due(maker, mail_cfg))["sent"]:
            pass
        [mail] = inbox.to(admin_email)
        # and /metrics shows what is held
        metrics = (await staff.call("GET", "/metrics", expect=200)).text
        assert 'seatlease_webhook_deliveries{status="held"} 3.0' in metrics
        assert "seatlease_webhook_endpoints_paused 1.0" in metrics
        assert "paused" in mail.message["Subject"]
        assert rx.url("p") in mail.message.get_content()
        # a change while paused is held too
        await staff.post("/v1/leases", lease_body(w, seat_count=1, shift="NIGHT"))
        assert len((await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries", params={"status": "held"}))["items"]) == 4
        rx.fail_next = 0
        resumed = await client.post(f"/v1/webhook-endpoints/{ep['id']}/resume", expect=200)
        assert resumed["status"] == "active"
        await drain(maker, cfg)
        got = rx.at("p")
    assert [g.body["type"] for g in got] == ["lease.confirmed", "seat.assigned", "lease.ending", "lease.confirmed"]
    # in the order of the changes
    assert [g.body["created"] for g in got] == sorted(g.body["created"] for g in got)


async def test_redeliver_sends_the_same_event_again(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    maker = app.state.sessionmaker
    with receiver() as rx:
        ep = await subscribe(client, rx, "r", ["lease.confirmed"])
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        await drain(maker, sender(app))
        [d] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
        assert (d["status"], d["attempts"]) == ("delivered", 1)
        again = await client.post(f"/v1/webhook-deliveries/{d['id']}/redeliver", expect=200)
        assert again["status"] == "pending"
        await drain(maker, sender(app))
        got = rx.at("r")
        [d2] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
    assert len(got) == 2
    assert got[0].event_id == got[1].event_id == d["event_id"]
    assert got[0].raw == got[1].raw  # the same body; only the signature's timestamp may differ
    assert (d2["status"], d2["attempts"]) == ("delivered", 2)


async def test_two_passes_at_once_never_send_one_attempt_twice(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, seats_per_zone=12)
    client = await client_login(w.client["id"])
    maker = app.state.sessionmaker
    with receiver() as rx:
        await subscribe(client, rx, "c", ["lease.confirmed"])
        for _ in range(16):
            await staff.post("/v1/leases", lease_body(w, seat_count=1))
        rx.delay = 0.03  # each answer takes a moment: the two passes overlap
        cfg = sender(app)
        first, second = await asyncio.gather(deliver_due(maker, cfg), deliver_due(maker, cfg))
        got = rx.at("c")
    assert first["delivered"] > 0, (first, second)
    assert second["delivered"] > 0, (first, second)
    assert first["delivered"] + second["delivered"] == 16
    assert len(got) == 16
    assert len({g.event_id for g in got}) == 16


async def test_https_deliveries_check_the_certificate_against_the_urls_host(
    app: FastAPI, staff: Api, client_login: ClientLogin, tmp_path: Path
) -> None:
    """The sender connects to the address it checked, and still verifies the receiver's certificate
    for the URL's host name (SNI): a certificate for "localhost" only, served on 127.0.0.1."""
    ca, _, _ = tls_files(tmp_path)
    w = await make_world(staff, zones=1, seats_per_zone=2)
    client = await client_login(w.client["id"])
    with receiver(tls_dir=tmp_path) as rx:
        ep = await subscribe(client, rx, "tls", ["lease.confirmed"])
        assert ep["url"].startswith("https://localhost:")
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        # without the private CA: the certificate is refused, nothing is delivered
        assert (await drain(app.state.sessionmaker, sender(app)))["retry"] == 1
        [d] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
        assert "CERTIFICATE_VERIFY_FAILED" in d["last_error"]
        assert rx.hits == 0
        # trusting it (SEATLEASE_WEBHOOK_CA_FILE): delivered, the name checked against localhost
        await client.post(f"/v1/webhook-deliveries/{d['id']}/redeliver", expect=200)
        assert (await drain(app.state.sessionmaker, sender(app, ca_file=str(ca))))["delivered"] == 1
        [got] = rx.at("tls")
    assert got.headers["host"] == f"localhost:{rx.port}"
    assert rx.rejected == []


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(app: FastAPI, staff: Api, client_login: ClientLogin) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    client = await client_login(w.client["id"])
    with receiver() as rx:
        ep = await subscribe(client, rx, "moved", ["lease.confirmed"])
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        rx.status = 302  # Location: the cloud metadata address
        assert (await drain(app.state.sessionmaker, sender(app)))["retry"] == 1
        assert rx.hits == 1
    [d] = (await client.get(f"/v1/webhook-endpoints/{ep['id']}/deliveries"))["items"]
    assert (d["status"], d["response_status"]) == ("pending", 302)
    assert d["last_error"] == "redirect to http://169.254.169.254/ not followed"


async def test_the_log_keeps_delivered_deliveries_for_the_retention_and_pending_ones_always(
    app: FastAPI, staff: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    client = await client_login(w.client["id"])
    maker = app.state.sessionmaker
    with receiver() as rx:
        ok = await subscribe(client, rx, "kept", ["lease.confirmed"])
        down = await subscribe(client, rx, "down", ["lease.confirmed"])
        rx.secrets["/hook/down"] = ["not the secret"]  # every delivery to it is refused (400)
        await staff.post("/v1/leases", lease_body(w, seat_count=1))
        cfg = sender(app, retention_days=30)
        await drain(maker, cfg)
        [delivered] = (await client.get(f"/v1/webhook-endpoints/{ok['id']}/deliveries"))["items"]
        [pending] = (await client.get(f"/v1/webhook-endpoints/{down['id']}/deliveries"))["items"]
        assert (delivered["status"], pending["status"]) == ("delivered", "pending")
        # within the retention nothing goes
        assert (await prune_delivered(maker, cfg, now=datetime.now(UTC) + timedelta(days=29)))["deliveries_pruned"] == 0
        # past it the delivered one goes; the pending one (and so its event) stays
        pruned = await prune_delivered(maker, cfg, now=datetime.now(UTC) + timedelta(days=31))
    assert pruned["deliveries_pruned"] >= 1
    assert (await client.call("GET", f"/v1/webhook-deliveries/{delivered['id']}")).status_code == 404
    kept = await client.get(f"/v1/webhook-deliveries/{pending['id']}")
    assert kept["payload"]["id"] == pending["event_id"]
    assert (await client.get(f"/v1/webhook-endpoints/{ok['id']}/deliveries"))["items"] == []
