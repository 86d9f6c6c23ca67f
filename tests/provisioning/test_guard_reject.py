"""A held mass revocation can be rejected (issue 13): the held credentials stay active, the same drift
is not asked about again, drift that goes away ends the rejection; a guard is decided exactly once
under a double submit, confirm or reject. And `GET /v1/integrations` shows every target's state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from provisioning.reconciler import Reconciler
from tests.factories import Api, ClientLogin, World, make_world, uniq
from tests.provisioning.helpers import seated_lease, site_today

DIRECTORY_ONLY = {"badge_webhook_url": None, "radius_database_url": None}
STRICT = {"mass_revoke_share": 0.000001, "mass_revoke_min": 20}


async def _world(staff: Api, members: int) -> World:
    w = await make_world(staff, zones=1, seats_per_zone=members, columns=10)
    for i in range(len(w.members), members):
        w.members.append(
            await staff.post(
                f"/v1/teams/{w.team['id']}/members",
                {"name": f"Agent {i}", "email": f"agent{i}-{uniq().lower()}@client-example.com", "employee_id": f"E{i:04d}"},
            )
        )
    return w


async def drifted_guard(staff: Api, db: asyncpg.Pool, rec: Reconciler, seats: int, drop: int) -> tuple[dict[str, Any], list[Any]]:
    """A seated lease whose credentials are granted, then `drop` of its seat rows vanish (data gone
    wrong, no business event): the reconciler holds those credentials under a pending guard."""
    w = await _world(staff, seats)
    lease = await seated_lease(staff, w, seats=seats)
    await rec.run_once(sweep=False)
    gone = await db.fetch(
        "DELETE FROM lease_seats WHERE id IN (SELECT id FROM lease_seats WHERE lease_id = $1 ORDER BY id LIMIT $2) "
        "RETURNING seat_id",
        uuid.UUID(lease["id"]),
        drop,
    )
    out = await rec.derive()
    assert out["guard_held"] == drop
    return lease, [r["seat_id"] for r in gone]


async def _pending_guard(staff: Api) -> dict[str, Any]:
    guards = await staff.get("/v1/provisioning/guards", params={"status": "pending"})
    assert len(guards) == 1, guards
    return guards[0]


async def _held(db: asyncpg.Pool, lease: dict[str, Any], seat_ids: list[Any]) -> list[tuple[bool, str]]:
    rows = await db.fetch(
        "SELECT desired, state FROM credentials WHERE lease_id = $1 AND seat_id = ANY($2::uuid[])",
        uuid.UUID(lease["id"]),
        seat_ids,
    )
    return sorted((r["desired"], r["state"]) for r in rows)


async def _clean_up(staff: Api, rec: Reconciler, lease: dict[str, Any]) -> None:
    """End the lease: its drift is explained, and no guard of this test outlives it."""
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=1)).isoformat()}, expect=200)
    await rec.derive()


async def test_a_rejected_guard_keeps_its_credentials_and_is_not_asked_again(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(**DIRECTORY_ONLY, **STRICT)
    lease, seats = await drifted_guard(staff, db, rec, 24, 21)
    try:
        guard = await _pending_guard(staff)
        assert guard["by_kind"] == {"directory": 21}
        assert guard["would_revoke"] == 21

        r = await staff.call(
            "POST", f"/v1/provisioning/guards/{guard['id']}/reject", 200, json={"reason": "seat rows restored soon"}
        )
        body = r.json()
        assert (body["status"], body["reason"]) == ("rejected", "seat rows restored soon")
        assert body["rejected_by"]
        assert body["rejected_at"]
        # decided: neither a second reject nor a confirm changes it
        await staff.call("POST", f"/v1/provisioning/guards/{guard['id']}/reject", 409, json={})
        await staff.call("POST", f"/v1/provisioning/guards/{guard['id']}/confirm", 409)

        # the next passes keep holding the same drift, without a new question
        for _ in range(2):
            out = await rec.run_once(sweep=False)
            assert out["derive"]["guard_held"] == 21
        assert await staff.get("/v1/provisioning/guards", params={"status": "pending"}) == []
        assert await _held(db, lease, seats) == [(True, "active")] * 21
        audit = await db.fetch(
            "SELECT action, after->>'reason' AS reason FROM audit_events WHERE object_id = $1 ORDER BY at", guard["id"]
        )
        assert [a["action"] for a in audit] == ["provisioning.mass_revoke_held", "provisioning.mass_revoke_rejected"]
        assert audit[1]["reason"] == "seat rows restored soon"
        standing = {g["id"]: g for g in (await staff.get("/v1/integrations"))["guards"]}
        assert standing[guard["id"]]["status"] == "rejected"
    finally:
        await _clean_up(staff, rec, lease)
    # the drift went away (explained by the lease end): the rejection no longer stands
    assert await db.fetchval("SELECT status FROM revocation_guards WHERE id = $1", uuid.UUID(guard["id"])) == "dismissed"
    assert await _held(db, lease, seats) == [(False, "revoking")] * 21


async def test_a_larger_drift_after_a_rejection_is_asked_about_again(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(**DIRECTORY_ONLY, **STRICT)
    lease, _ = await drifted_guard(staff, db, rec, 40, 20)
    try:
        first = await _pending_guard(staff)
        await staff.call("POST", f"/v1/provisioning/guards/{first['id']}/reject", 200)
        await db.execute(
            "DELETE FROM lease_seats WHERE id IN (SELECT id FROM lease_seats WHERE lease_id = $1 ORDER BY id LIMIT 15)",
            uuid.UUID(lease["id"]),
        )
        out = await rec.derive()
        assert out["guard_held"] == 35
        second = await _pending_guard(staff)
        assert second["id"] != first["id"]
        assert second["would_revoke"] == 35
    finally:
        await _clean_up(staff, rec, lease)


async def test_a_double_submitted_decision_is_made_and_audited_once(
    http: httpx.AsyncClient, staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(**DIRECTORY_ONLY, **STRICT)
    lease, seats = await drifted_guard(staff, db, rec, 22, 20)
    try:
        guard = await _pending_guard(staff)
        # two people press Confirm and Reject at the same moment, twice each
        calls = [
            http.post(f"/v1/provisioning/guards/{guard['id']}/{action}", headers=staff.headers)
            for action in ("confirm", "reject", "confirm", "reject")
        ]
        answers = await asyncio.gather(*calls)
        assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
        winner = next(r.json() for r in answers if r.status_code == 200)
        decisions = await db.fetch(
            "SELECT action FROM audit_events WHERE object_id = $1 AND action IN "
            "('provisioning.mass_revoke_confirmed', 'provisioning.mass_revoke_rejected')",
            guard["id"],
        )
        assert len(decisions) == 1
        assert decisions[0]["action"] == f"provisioning.mass_revoke_{winner['status']}"
        assert all(r.json()["status"] == 409 for r in answers if r.status_code == 409)
        out = await rec.derive()
        expected = [(False, "revoking")] * 20 if winner["status"] == "confirmed" else [(True, "active")] * 20
        if winner["status"] == "confirmed":
            assert out["revoked"] >= 20
        assert await _held(db, lease, seats) == expected
    finally:
        await _clean_up(staff, rec, lease)


async def test_a_guard_is_decided_by_operations_staff_only(
    http: httpx.AsyncClient, db: asyncpg.Pool, finance: Api, staff: Api
) -> None:
    missing = uuid.uuid4()
    for action in ("confirm", "reject"):
        await finance.call("POST", f"/v1/provisioning/guards/{missing}/{action}", 403)
        await staff.call("POST", f"/v1/provisioning/guards/{missing}/{action}", 404)
    await staff.call("POST", f"/v1/provisioning/guards/{missing}/reject", 422, json={"reason": "x" * 501})


async def test_integrations_say_which_setting_turns_each_target_on(
    http: httpx.AsyncClient, db: asyncpg.Pool, staff: Api, finance: Api, client_login: ClientLogin
) -> None:
    body = await staff.get("/v1/integrations")
    targets = {t["key"]: t for t in body["targets"]}
    assert list(targets) == ["directory", "wifi", "badge", "stripe", "email"]
    # the test app configures no target
    expected = {
        "directory": ["SCIM_BASE_URL", "SCIM_TOKEN"],
        "wifi": ["RADIUS_DATABASE_URL"],
        "badge": ["BADGE_WEBHOOK_URL", "BADGE_WEBHOOK_SECRET"],
        "stripe": ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"],
    }
    for key, names in expected.items():
        t = targets[key]
        assert t["configured"] is False, t
        assert t["settings"] == names
        assert t["note"].startswith("Off: set " + names[0])
    assert targets["email"]["settings"][:2] == ["SEATLEASE_SMTP_HOST", "SEATLEASE_SMTP_FROM"]
    assert "SEATLEASE_SMTP_HOST" in targets["email"]["note"]
    # the figures are the credentials' own, per kind
    counts = {
        r["kind"]: r["n"]
        for r in await db.fetch("SELECT kind, count(*) AS n FROM credentials WHERE state = 'failed' GROUP BY kind")
    }
    for key in ("directory", "wifi", "badge"):
        assert targets[key]["failed"] == counts.get(key, 0)
    assert body["reconciler"]["status"] in ("ok", "degraded", "none")
    # facility staff and admins only: finance and clients are refused, anonymous callers too
    await finance.call("GET", "/v1/integrations", 403)
    w = await make_world(staff)
    client = await client_login(w.client["id"])
    await client.call("GET", "/v1/integrations", 403)
    r = await http.get("/v1/integrations")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_stripe_and_email_figures_come_from_their_own_rows(staff: Api, db: asyncpg.Pool) -> None:
    key = uniq("integ-")
    await db.execute(
        "INSERT INTO email_outbox (dedupe_key, topic, to_addrs, subject, body, status, attempts, last_error) "
        "VALUES ($1, 'test', ARRAY['ap@client-example.com'], 's', 'b', 'failed', 8, '550 5.1.1 mailbox unavailable')",
        key,
    )
    await db.execute(
        "INSERT INTO stripe_events (id, type, state, last_error, processed_at) "
        "VALUES ($1, 'invoice.paid', 'failed', 'No such invoice: in_missing', now())",
        "evt_" + key,
    )
    targets = {t["key"]: t for t in (await staff.get("/v1/integrations"))["targets"]}
    email, stripe = targets["email"], targets["stripe"]
    assert email["failed"] == await db.fetchval("SELECT count(*) FROM email_outbox WHERE status = 'failed'")
    assert email["pending"] == await db.fetchval("SELECT count(*) FROM email_outbox WHERE status = 'pending'")
    rows = await db.fetch("SELECT last_error FROM email_outbox WHERE last_error IS NOT NULL AND status <> 'sent'")
    errors = {r[0] for r in rows}
    assert email["last_error"] in errors
    assert stripe["counts"]["webhooks_failed"] == await db.fetchval(
        "SELECT count(*) FROM stripe_events WHERE state IN ('failed', 'rejected')"
    )
    assert stripe["failed"] >= stripe["counts"]["webhooks_failed"] >= 1
    assert stripe["last_error"] == "No such invoice: in_missing"  # the latest dated error
    assert stripe["last_error_at"] is not None


async def test_each_target_says_what_is_missing_and_never_a_secret(app: Any) -> None:
    from service.integrations import read_integrations

    settings = app.state.settings.model_copy(
        update={
            "scim_base_url": "https://idp.example.com/scim/v2",
            "scim_token": "scim-secret-token",
            "radius_database_url": "postgresql://radius:radius-db-password@db.example.com/radius",
            "badge_webhook_url": "https://doors.example.com/hook",
            "badge_webhook_secret": None,
            "stripe_api_key": "sk_test_secret",
            "stripe_webhook_secret": None,
            "smtp_host": "smtp.example.com",
            "smtp_from": None,
        }
    )
    async with app.state.sessionmaker() as session:
        out = await read_integrations(session, settings)
    targets = {t.key: t for t in out.targets}
    assert (targets["directory"].configured, targets["directory"].endpoint) == (True, "https://idp.example.com/scim/v2")
    assert (targets["wifi"].configured, targets["wifi"].endpoint) == (True, "postgresql://db.example.com/radius")
    assert targets["badge"].configured is False
    assert targets["badge"].note.startswith("BADGE_WEBHOOK_SECRET is missing")
    assert targets["stripe"].configured is True
    assert targets["stripe"].note.startswith("STRIPE_WEBHOOK_SECRET is missing")
    assert targets["email"].configured is False
    assert targets["email"].note.startswith("SEATLEASE_SMTP_FROM is missing")
    shown = out.model_dump_json()
    for secret in ("scim-secret-token", "radius-db-password", "sk_test_secret"):
        assert secret not in shown
