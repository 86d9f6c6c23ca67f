"""The admin and the API run the same provisioning and device use-cases: the same action gets the
same answer from both edges (over plain HTTP, no browser)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import unquote_plus

import asyncpg
import httpx

from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


def _csrf(http: httpx.Client, path: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(path).text)
    assert token is not None
    return token.group(1)


def _flash(r: httpx.Response) -> str:
    assert r.status_code == 303, r.text
    return unquote_plus(r.headers["location"].split("flash=", 1)[1])


async def _credential(db: asyncpg.Pool, staff: Api, state: str, *, desired: bool = True) -> uuid.UUID:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, start_date="2031-01-01"))
    cred_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO credentials (id, kind, lease_id, member_id, client_id, site_id, login, state, desired, attempts,"
        " last_error) VALUES ($1, 'directory', $2, $3, $4, $5, $6, $7, $8, 5, 'SCIM 503')",
        cred_id,
        uuid.UUID(lease["id"]),
        uuid.UUID(w.members[0]["id"]),
        uuid.UUID(w.client["id"]),
        uuid.UUID(w.site["id"]),
        f"agent-{cred_id.hex[:8]}",
        state,
        desired,
    )
    return cred_id


async def _admin(live_http: httpx.Client, db: asyncpg.Pool) -> str:
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    admin_login(live_http, email)
    return _csrf(live_http, "/admin/provisioning")


async def _state(db: asyncpg.Pool, cred_id: uuid.UUID) -> Any:
    return await db.fetchrow("SELECT state, attempts, next_attempt_at FROM credentials WHERE id = $1", cred_id)


async def _audits(db: asyncpg.Pool, action: str, object_id: Any) -> int:
    return int(
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = $1 AND object_id = $2", action, str(object_id))
    )


async def test_retry_gives_the_same_answer_from_the_api_and_the_admin(
    live_http: httpx.Client, db: asyncpg.Pool, staff: Api
) -> None:
    token = await _admin(live_http, db)

    def admin_retry(cred_id: uuid.UUID) -> str:
        return _flash(live_http.post(f"/admin/provisioning/credentials/{cred_id}/retry", data={"csrf_token": token}))

    # a failed credential goes back to the work it failed at, from either edge
    for desired, after in ((True, "pending"), (False, "revoking")):
        via_api, via_admin = (
            await _credential(db, staff, "failed", desired=desired),
            await _credential(db, staff, "failed", desired=desired),
        )
        assert (await staff.post(f"/v1/provisioning/credentials/{via_api}/retry", None, expect=200))["state"] == after
        assert admin_retry(via_admin).startswith("Retry scheduled")
        for cred_id in (via_api, via_admin):
            row = await _state(db, cred_id)
            assert (row["state"], row["attempts"]) == (after, 0)
            assert row["next_attempt_at"] is not None
            assert await _audits(db, "credential.retry", cred_id) == 1

    # a credential that is not failed keeps its state and is only made due now, from either edge
    via_api, via_admin = await _credential(db, staff, "active"), await _credential(db, staff, "active")
    assert (await staff.post(f"/v1/provisioning/credentials/{via_api}/retry", None, expect=200))["state"] == "active"
    assert admin_retry(via_admin).startswith("Retry scheduled")
    for cred_id in (via_api, via_admin):
        assert (await _state(db, cred_id))["state"] == "active"
        assert (await _state(db, cred_id))["attempts"] == 0

    # a revoked one has nothing left to do: 409 from the API, the same refusal in the admin, nothing written
    via_api, via_admin = await _credential(db, staff, "revoked"), await _credential(db, staff, "revoked")
    r = await staff.call("POST", f"/v1/provisioning/credentials/{via_api}/retry", 409)
    detail = r.json()["detail"]
    assert detail == "a revoked credential has nothing left to do"
    assert admin_retry(via_admin) == f"Retry refused: {detail}"
    for cred_id in (via_api, via_admin):
        assert (await _state(db, cred_id))["attempts"] == 5
        assert await _audits(db, "credential.retry", cred_id) == 0

    # an unknown one is not found by either
    unknown = uuid.uuid4()
    await staff.call("POST", f"/v1/provisioning/credentials/{unknown}/retry", 404)
    assert admin_retry(unknown) == "Retry refused: credential not found"


async def test_a_guard_that_is_not_pending_cannot_be_confirmed(staff: Api, db: asyncpg.Pool) -> None:
    guard_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO revocation_guards (id, status, would_revoke, total_active) VALUES ($1, 'dismissed', 30, 40)", guard_id
    )
    r = await staff.call("POST", f"/v1/provisioning/guards/{guard_id}/confirm", 409)
    assert r.json()["detail"] == "the guard is dismissed"
    await staff.call("POST", f"/v1/provisioning/guards/{uuid.uuid4()}/confirm", 404)
    assert await _audits(db, "provisioning.mass_revoke_confirmed", guard_id) == 0


async def test_devices_give_the_same_answer_from_the_api_and_the_admin(
    live_http: httpx.Client, db: asyncpg.Pool, staff: Api
) -> None:
    await _admin(live_http, db)
    token = _csrf(live_http, "/admin/devices")
    w = await make_world(staff)
    serial = f"SN-{uuid.uuid4().hex[:10]}"

    # added in the admin; the same serial again is refused by both, on the serial field
    r = await asyncio.to_thread(
        live_http.post,
        "/admin/devices",
        data={"csrf_token": token, "serial": serial, "kind": "monitor", "model": "", "site_id": w.site["id"]},
    )
    assert _flash(r) == f"Device {serial} added"
    r = await staff.call("POST", "/v1/devices", 422, json={"serial": serial, "kind": "monitor", "site_id": w.site["id"]})
    assert "a device with this serial exists" in r.text
    r = await asyncio.to_thread(
        live_http.post,
        "/admin/devices",
        data={"csrf_token": token, "serial": serial, "kind": "monitor", "model": "", "site_id": w.site["id"]},
    )
    assert r.status_code == 422
    assert "a device with this serial exists" in r.text
    # an unknown site: refused by both on the site field
    r = await staff.call(
        "POST", "/v1/devices", 422, json={"serial": serial + "x", "kind": "monitor", "site_id": str(uuid.uuid4())}
    )
    assert "no such site" in r.text
    r = await asyncio.to_thread(
        live_http.post,
        "/admin/devices",
        data={"csrf_token": token, "serial": serial + "x", "kind": "monitor", "model": "", "site_id": str(uuid.uuid4())},
    )
    assert r.status_code == 422
    assert "no such site" in r.text

    listed = await staff.get("/v1/devices", params={"site_id": w.site["id"]})
    (device,) = [d for d in listed["items"] if d["serial"] == serial]
    assert device["status"] == "in_stock"
    assert serial in (await asyncio.to_thread(live_http.get, "/admin/devices", params={"kind": "monitor"})).text

    # a device due back: the admin's "returned" and the API's PATCH returned=true do the same
    api_device = await staff.post("/v1/devices", {"serial": serial + "-api", "kind": "monitor", "site_id": w.site["id"]})
    for d in (device, api_device):
        await db.execute("UPDATE devices SET status = 'assigned', return_due_at = now() WHERE id = $1", uuid.UUID(d["id"]))
    assert (
        _flash(await asyncio.to_thread(live_http.post, f"/admin/devices/{device['id']}/returned", data={"csrf_token": token}))
        == "Device back in stock"
    )
    back = await staff.call("PATCH", f"/v1/devices/{api_device['id']}", 200, json={"returned": True})
    assert back.json()["status"] == "in_stock"
    for d in (device, api_device):
        row = await db.fetchrow("SELECT status, seat_id, lease_id, return_due_at FROM devices WHERE id = $1", uuid.UUID(d["id"]))
        assert dict(row) == {"status": "in_stock", "seat_id": None, "lease_id": None, "return_due_at": None}
        assert await _audits(db, "device.update", d["id"]) == 1
        assert await _audits(db, "device.create", d["id"]) == 1
    # a lease assigns, a person does not
    r = await staff.call("PATCH", f"/v1/devices/{api_device['id']}", 422, json={"status": "assigned"})
    assert "a device is assigned by a lease" in r.text
