"""Wi-Fi through a real FreeRADIUS, badges through a real receiver, devices from inventory."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from provisioning.providers.badges import SIGNATURE_HEADER, sign
from provisioning.reconciler import Reconciler
from tests.factories import Api, make_world
from tests.provisioning import freeradius
from tests.provisioning.helpers import seated_lease, site_today, until
from tests.provisioning.servers import BadgeReceiver


async def _states(staff: Api, lease_id: str, kind: str) -> list[dict]:
    return [c for c in (await staff.get(f"/v1/leases/{lease_id}/credentials"))["items"] if c["kind"] == kind]


async def test_wifi_login_accepted_after_grant_rejected_after_revoke(
    staff: Api, radius_server: freeradius.FreeRadius, reconcilers: Callable[..., Reconciler], db: asyncpg.Pool
) -> None:
    rec = reconcilers(scim_base_url=None, badge_webhook_url=None)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)

    async def active() -> bool:
        items = await _states(staff, lease["id"], "wifi")
        return bool(items) and items[0]["state"] == "active"

    await until(rec, active)
    cred = (await _states(staff, lease["id"], "wifi"))[0]
    secret = (await staff.call("POST", f"/v1/credentials/{cred['id']}/reveal", 200)).json()["secret"]
    out = await asyncio.to_thread(radius_server.radtest, cred["login"], secret)
    assert "Received Access-Accept" in out
    assert "Received Access-Reject" in await asyncio.to_thread(radius_server.radtest, cred["login"], secret + "x")

    # ended two days ago: a night shift ended yesterday would still hold this morning (its tail)
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=2)).isoformat()}, expect=200)

    async def revoked() -> bool:
        return (await _states(staff, lease["id"], "wifi"))[0]["state"] == "revoking"

    await until(rec, revoked)
    out = await asyncio.to_thread(radius_server.radtest, cred["login"], secret)
    assert "Received Access-Reject" in out
    assert "Received Access-Accept" not in out


async def test_radius_sweep_disables_login_without_lease(
    radius_server: freeradius.FreeRadius, radius_db: str | None, reconcilers: Callable[..., Reconciler], db: asyncpg.Pool
) -> None:
    rec = reconcilers(scim_base_url=None, badge_webhook_url=None)
    from provisioning.secrets import ssha256

    login = f"sl-intruder-{uuid.uuid4().hex[:6]}"
    assert radius_db is not None  # the radius_server fixture skips without one
    conn = await asyncpg.connect(radius_db.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute(
        "INSERT INTO radcheck (username, attribute, op, value) VALUES ($1, 'SSHA2-256-Password', ':=', $2)",
        login,
        ssha256("letmein-123"),
    )
    await conn.close()
    assert "Received Access-Accept" in await asyncio.to_thread(radius_server.radtest, login, "letmein-123")
    report = await rec.sweep()
    assert report["wifi"]["incidents"] >= 1
    assert "Received Access-Reject" in await asyncio.to_thread(radius_server.radtest, login, "letmein-123")
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'provisioning.incident' AND object_id = $1", f"wifi:{login}"
        )
        == 1
    )


async def test_badges_are_signed_and_carry_validity(
    staff: Api, badges: tuple[BadgeReceiver, str], reconcilers: Callable[..., Reconciler]
) -> None:
    receiver, url = badges
    rec = reconcilers(scim_base_url=None, radius_database_url=None)
    w = await make_world(staff)
    end = (site_today() + timedelta(days=20)).isoformat()
    lease = await seated_lease(staff, w, seats=2, end_date=end, shift="NIGHT")
    rejected_before = receiver.rejected

    async def active() -> bool:
        items = await _states(staff, lease["id"], "badge")
        return len(items) == 2 and all(c["state"] == "active" for c in items)

    await until(rec, active)
    for c in await _states(staff, lease["id"], "badge"):
        pushed = receiver.holders[c["id"]]
        assert pushed["action"] == "grant"
        assert all(g.endswith(":NIGHT") for g in pushed["access_groups"])
        valid_until = datetime.fromisoformat(pushed["valid_until"])
        # valid to the end of the lease's last day (Manila), so a missed revoke expires by itself
        assert valid_until.astimezone(UTC) > datetime.now(UTC) + timedelta(days=19)
        assert valid_until.astimezone(UTC) < datetime.now(UTC) + timedelta(days=22)
    assert receiver.rejected == rejected_before

    # the receiver really verifies: a forged or stale signature is refused
    body = json.dumps({"event_id": "x", "holder_id": "x", "action": "grant", "access_groups": ["a"]}).encode()
    async with httpx.AsyncClient() as web:
        forged = await web.post(url, content=body, headers={SIGNATURE_HEADER: sign("wrong-secret", body, int(time.time()))})
        stale = await web.post(
            url, content=body, headers={SIGNATURE_HEADER: sign(receiver.secret, body, int(time.time()) - 3600)}
        )
    assert forged.status_code == 401
    assert stale.status_code == 401

    # ended two days ago: a night shift ended yesterday would still hold this morning (its tail)
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=2)).isoformat()}, expect=200)

    async def revoked() -> bool:
        return all(c["state"] == "revoking" for c in await _states(staff, lease["id"], "badge"))

    await until(rec, revoked)
    for c in await _states(staff, lease["id"], "badge"):
        assert receiver.holders[c["id"]]["action"] == "revoke"
        assert not receiver.active(c["id"])


async def test_devices_assigned_flagged_and_returned(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    w = await make_world(staff)
    # one PC in stock for two seats; no headsets at all
    pc = await staff.post("/v1/devices", {"serial": f"PC-{uuid.uuid4().hex[:8]}", "kind": "pc", "site_id": w.site["id"]})
    lease = await seated_lease(staff, w, seats=2)
    await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    assert [d["serial"] for d in view["devices"]] == [pc["serial"]]
    assert view["devices"][0]["status"] == "assigned"
    assert view["devices"][0]["seat_id"] in {s["id"] for s in lease["seats"]}
    short = {(s["seat_id"], s["device_kind"]) for s in view["device_shortages"]}
    assert len([k for k in short if k[1] == "headset"]) == 2
    assert len([k for k in short if k[1] == "pc"]) == 1, "the seat without a PC is flagged, not skipped"
    flagged = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'device.shortage' AND object_id = $1", lease["id"]
    )
    assert flagged == 3
    await rec.run_once(sweep=False)
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'device.shortage' AND object_id = $1", lease["id"])
        == 3
    ), "flagged once, not on every pass"

    # a second PC arrives: the short seat gets it and its flag clears
    await staff.post("/v1/devices", {"serial": f"PC-{uuid.uuid4().hex[:8]}", "kind": "pc", "site_id": w.site["id"]})
    await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    assert len(view["devices"]) == 2
    assert {s["device_kind"] for s in view["device_shortages"]} == {"headset"}

    # ended two days ago: a night shift ended yesterday would still hold this morning (its tail)
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=2)).isoformat()}, expect=200)
    await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    assert all(d["return_due_at"] is not None for d in view["devices"])
    assert view["device_shortages"] == []
    assert (await staff.get("/v1/provisioning/kpis"))["devices_out_for_return"] >= 2
    returned = await staff.call("PATCH", f"/v1/devices/{pc['id']}", 200, json={"returned": True})
    assert returned.json()["status"] == "in_stock"


async def test_open_ended_badge_is_renewed_before_it_expires(
    staff: Api, db: asyncpg.Pool, badges: tuple[BadgeReceiver, str], reconcilers: Callable[..., Reconciler]
) -> None:
    receiver, _ = badges
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_validity_days=7, badge_renew_before_days=2)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)  # no end date

    async def active() -> bool:
        items = await _states(staff, lease["id"], "badge")
        return bool(items) and items[0]["state"] == "active"

    await until(rec, active)
    cred = (await _states(staff, lease["id"], "badge"))[0]
    first = datetime.fromisoformat(receiver.holders[cred["id"]]["valid_until"])
    assert timedelta(days=6) < first - datetime.now(UTC) <= timedelta(days=7)
    row = await db.fetchrow("SELECT next_attempt_at, valid_until FROM credentials WHERE id = $1", uuid.UUID(cred["id"]))
    assert row["next_attempt_at"] is not None, "an open-ended badge stays scheduled for renewal"
    assert row["next_attempt_at"] <= row["valid_until"] - timedelta(days=2)

    # a day later the badge would hold less than its renewal margin: the next pass pushes a new end
    await db.execute(
        "UPDATE credentials SET valid_until = now() + interval '1 day', next_attempt_at = now() WHERE id = $1",
        uuid.UUID(cred["id"]),
    )
    event_before = receiver.holders[cred["id"]]["event_id"]
    await rec.run_once(sweep=False)
    pushed = receiver.holders[cred["id"]]
    assert pushed["event_id"] != event_before
    assert pushed["action"] == "grant"
    assert datetime.fromisoformat(pushed["valid_until"]) - datetime.now(UTC) > timedelta(days=6)
