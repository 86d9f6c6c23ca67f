"""A ticket's device swap and a device's history (issue 15), through the API, with devices placed by
the real provisioning pass before and after the swap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.reconciler import Reconciler
from tests.factories import Api, ClientLogin, make_world
from tests.provisioning.helpers import seated_lease, site_today
from tests.ticket_rows import make_ticket


async def _device(staff: Api, site_id: str, kind: str, **kw: Any) -> dict[str, Any]:
    return await staff.post(
        "/v1/devices", {"serial": f"{kind.upper()}-{uuid.uuid4().hex[:8]}", "kind": kind, "site_id": site_id, **kw}
    )


async def _placed(staff: Api, rec: Reconciler) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A one-seat lease whose PC and headset the provisioning pass placed."""
    w = await make_world(staff)
    pc = await _device(staff, w.site["id"], "pc")
    headset = await _device(staff, w.site["id"], "headset")
    lease = await seated_lease(staff, w, seats=1)
    await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    assert {d["id"] for d in view["devices"]} == {pc["id"], headset["id"]}
    assert view["device_shortages"] == []
    return w, lease, headset


async def _state(db: asyncpg.Pool, device_id: str) -> tuple[str, Any, Any]:
    r = await db.fetchrow("SELECT status, seat_id, lease_id FROM devices WHERE id = $1", uuid.UUID(device_id))
    return r["status"], r["seat_id"] and str(r["seat_id"]), r["lease_id"] and str(r["lease_id"])


async def test_swap_keeps_the_seats_inclusion_and_the_pass_neither_fights_nor_adds(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler], maker: async_sessionmaker[AsyncSession]
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    w, lease, headset = await _placed(staff, rec)
    seat = lease["seats"][0]["id"]
    spare = await _device(staff, w.site["id"], "headset")
    other_spare = await _device(staff, w.site["id"], "headset")
    ticket = await make_ticket(maker, site_id=w.site["id"], seat_id=seat, device_id=headset["id"], client_id=w.client["id"])

    out = await staff.post(
        f"/v1/tickets/{ticket}/device-swap", {"replacement_device_id": spare["id"], "note": "left ear dead"}, expect=200
    )
    assert out["faulty"]["status"] == "in_repair"
    assert out["faulty"]["seat_id"] is None
    assert out["replacement"]["seat_id"] == seat
    assert out["replacement"]["lease_id"] == lease["id"]
    assert await _state(db, headset["id"]) == ("in_repair", None, None)
    assert await _state(db, spare["id"]) == ("assigned", seat, lease["id"])

    # the pass, run after the swap: no second headset, no shortage, nothing called back
    for _ in range(2):
        await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    assert sorted(d["kind"] for d in view["devices"]) == ["headset", "pc"]
    assert view["device_shortages"] == []
    assert all(d["return_due_at"] is None for d in view["devices"])
    assert await _state(db, other_spare["id"]) == ("in_stock", None, None)
    assert await _state(db, headset["id"]) == ("in_repair", None, None)

    # the ticket's timeline (public) and the audit
    ev = await db.fetchrow("SELECT kind, public, data FROM ticket_events WHERE ticket_id = $1", uuid.UUID(ticket))
    assert ev["kind"] == "device_swap"
    assert ev["public"] is True
    assert spare["serial"] in ev["data"]
    assert headset["serial"] in ev["data"]
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'ticket.device_swap' AND object_id = $1", ticket) == 1
    )

    # both devices' history shows the swap with its ticket
    h = await staff.get(f"/v1/devices/{headset['id']}/history")
    kinds = [e["kind"] for e in h["events"]]
    assert kinds == ["swapped_out", "placed", "created"]
    assert h["events"][0]["ticket_id"] == ticket
    assert h["events"][0]["note"] == "left ear dead"
    assert h["events"][0]["seat_label"] == lease["seats"][0]["label"]
    assert [t["id"] for t in h["tickets"]] == [ticket]
    assert h["swaps"] == 1
    assert h["repairs"] == 1
    h2 = await staff.get(f"/v1/devices/{spare['id']}/history")
    assert [e["kind"] for e in h2["events"]] == ["swapped_in", "created"]

    # back from repair, with a note; then retired
    r = await staff.call("PATCH", f"/v1/devices/{headset['id']}", 200, json={"status": "in_stock", "note": "new cable"})
    assert r.json()["status"] == "in_stock"
    await staff.call("PATCH", f"/v1/devices/{headset['id']}", 200, json={"status": "retired", "note": "worn out"})
    h = await staff.get(f"/v1/devices/{headset['id']}/history")
    assert [(e["kind"], e["note"]) for e in h["events"][:2]] == [("retired", "worn out"), ("repaired", "new cable")]


async def test_refusals_name_the_field_and_change_nothing(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler], maker: async_sessionmaker[AsyncSession]
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    w, lease, headset = await _placed(staff, rec)
    seat = lease["seats"][0]["id"]
    other = await make_world(staff)
    monitor = await _device(staff, w.site["id"], "monitor")
    elsewhere = await _device(staff, other.site["id"], "headset")
    broken = await _device(staff, w.site["id"], "headset", status="in_repair")
    spare = await _device(staff, w.site["id"], "headset")
    ticket = await make_ticket(maker, site_id=w.site["id"], seat_id=seat, device_id=headset["id"])
    other_seat = next(s["id"] for s in w.seats if s["id"] != seat)
    wrong_seat = await make_ticket(maker, site_id=w.site["id"], seat_id=other_seat, device_id=headset["id"])
    no_seat = await make_ticket(maker, site_id=w.site["id"], device_id=headset["id"])
    cases = [
        (ticket, {"replacement_device_id": monitor["id"]}, 422, "replacement_device_id", "not a headset"),
        (ticket, {"replacement_device_id": elsewhere["id"]}, 422, "replacement_device_id", "another site"),
        (ticket, {"replacement_device_id": broken["id"]}, 409, "replacement_device_id", "not in stock"),
        (ticket, {"replacement_device_id": str(uuid.uuid4())}, 422, "replacement_device_id", "no such device"),
        (ticket, {"replacement_device_id": spare["id"], "faulty_device_id": spare["id"]}, 422, "replacement_device_id", "itself"),
        (wrong_seat, {"replacement_device_id": spare["id"]}, 409, "faulty_device_id", "not on the ticket's seat"),
        (no_seat, {"replacement_device_id": spare["id"]}, 422, "seat_id", "no seat"),
    ]
    before = await db.fetch(
        "SELECT id, status, seat_id, lease_id FROM devices WHERE site_id = $1 ORDER BY id", uuid.UUID(w.site["id"])
    )
    for t, body, status, field, words in cases:
        r = await staff.call("POST", f"/v1/tickets/{t}/device-swap", status, json=body)
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == field, problem
        assert words in problem["detail"], problem
    assert (
        await db.fetch(
            "SELECT id, status, seat_id, lease_id FROM devices WHERE site_id = $1 ORDER BY id", uuid.UUID(w.site["id"])
        )
        == before
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM ticket_events WHERE ticket_id = ANY($1::uuid[])",
            [uuid.UUID(ticket), uuid.UUID(wrong_seat), uuid.UUID(no_seat)],
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM device_events WHERE kind IN ('swapped_in', 'swapped_out') AND device_id = $1",
            uuid.UUID(spare["id"]),
        )
        == 0
    )
    await staff.call("POST", f"/v1/tickets/{uuid.uuid4()}/device-swap", 404, json={"replacement_device_id": spare["id"]})


async def test_two_swaps_for_one_stock_device_one_wins(
    staff: Api,
    db: asyncpg.Pool,
    http: httpx.AsyncClient,
    reconcilers: Callable[..., Reconciler],
    maker: async_sessionmaker[AsyncSession],
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    w = await make_world(staff)
    for kind in ("pc", "pc", "headset", "headset"):
        await _device(staff, w.site["id"], kind)
    lease = await seated_lease(staff, w, seats=2)
    await rec.run_once(sweep=False)
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    headsets = {d["seat_id"]: d["id"] for d in view["devices"] if d["kind"] == "headset"}
    assert len(headsets) == 2
    spare = await _device(staff, w.site["id"], "headset")
    tickets = [await make_ticket(maker, site_id=w.site["id"], seat_id=seat, device_id=dev) for seat, dev in headsets.items()]
    answers = await asyncio.gather(
        *(
            http.post(f"/v1/tickets/{t}/device-swap", json={"replacement_device_id": spare["id"]}, headers=staff.headers)
            for t in tickets
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409).json()
    assert loser["field"] == "replacement_device_id"
    assert "not in stock" in loser["detail"]
    winner = tickets[[a.status_code for a in answers].index(200)]
    assert await db.fetchval("SELECT count(*) FROM devices WHERE id = $1 AND status = 'assigned'", uuid.UUID(spare["id"])) == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM device_events WHERE device_id = $1 AND kind = 'swapped_in'", uuid.UUID(spare["id"])
        )
        == 1
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM device_events WHERE kind = 'swapped_out' AND ticket_id = ANY($1::uuid[])",
            [uuid.UUID(t) for t in tickets],
        )
        == 1
    )
    assert (
        await db.fetchval("SELECT count(*) FROM ticket_events WHERE kind = 'device_swap' AND ticket_id = $1", uuid.UUID(winner))
        == 1
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM devices WHERE status = 'in_repair' AND id = ANY($1::uuid[])",
            [uuid.UUID(d) for d in headsets.values()],
        )
        == 1
    )


async def test_a_clients_ticket_raised_through_the_api_shows_the_swap_on_its_timeline(
    staff: Api, client_login: ClientLogin, reconcilers: Callable[..., Reconciler], db: asyncpg.Pool
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    w, lease, headset = await _placed(staff, rec)
    seat = lease["seats"][0]["id"]
    spare = await _device(staff, w.site["id"], "headset")
    client = await client_login(w.client["id"])
    ticket = await client.post(
        "/v1/tickets", {"seat_id": seat, "device_id": headset["id"], "category": "device", "subject": "Headset dead"}
    )
    # a client may not swap devices itself
    await client.call("POST", f"/v1/tickets/{ticket['id']}/device-swap", 403, json={"replacement_device_id": spare["id"]})
    await staff.post(
        f"/v1/tickets/{ticket['id']}/device-swap", {"replacement_device_id": spare["id"], "note": "left ear"}, expect=200
    )
    events = await client.get(f"/v1/tickets/{ticket['id']}/events")
    items = events["items"] if isinstance(events, dict) else events
    swap = [e for e in items if e["kind"] == "device_swap"]
    assert len(swap) == 1
    assert spare["serial"] in str(swap[0])
    assert "left" not in str(swap[0]), "the staff's note stays in the devices' history"
    # the client is told by email (the outbox) and by the ticket.updated webhook (from the public audit action)
    mail = await db.fetchrow(
        "SELECT subject, body FROM email_outbox WHERE object_id = $1 AND subject LIKE '%replaced%'", uuid.UUID(ticket["id"])
    )
    assert mail is not None
    assert f"{headset['serial']} → {spare['serial']}" in mail["subject"]
    h = await staff.get(f"/v1/devices/{headset['id']}/history")
    assert ticket["id"] in {t["id"] for t in h["tickets"]}


async def test_the_pass_writes_the_history_of_a_lease_ending(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    rec = reconcilers(scim_base_url=None, radius_database_url=None, badge_webhook_url=None)
    _w, lease, headset = await _placed(staff, rec)
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=2)).isoformat()}, expect=200)
    await rec.run_once(sweep=False)
    await rec.run_once(sweep=False)  # once each: a second pass writes nothing more
    await staff.call("PATCH", f"/v1/devices/{headset['id']}", 200, json={"returned": True, "note": "collected from 1F"})
    h = await staff.get(f"/v1/devices/{headset['id']}/history")
    assert [(e["kind"], e["lease_id"]) for e in h["events"]] == [
        ("returned", lease["id"]),
        ("return_due", lease["id"]),
        ("placed", lease["id"]),
        ("created", None),
    ]
    assert h["events"][0]["note"] == "collected from 1F"
    assert h["events"][1]["actor"] == "provisioning"
