"""Seat moves (issue 11): the agent's credentials, badge access groups and the seat's devices follow
the seat to its new place on the move's date, through a real badge receiver and the real reconciler;
nothing is revoked on the way."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from provisioning.reconciler import Reconciler
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today, until
from tests.provisioning.servers import BadgeReceiver


async def _badges(staff: Api, lease_id: str) -> dict[str, dict]:
    return {c["member_id"]: c for c in (await staff.get(f"/v1/leases/{lease_id}/credentials"))["items"] if c["kind"] == "badge"}


async def test_moved_agent_keeps_badge_and_device_on_the_new_floor_from_the_move_date(
    staff: Api, db: asyncpg.Pool, badges: tuple[BadgeReceiver, str], reconcilers: Callable[..., Reconciler]
) -> None:
    receiver, _ = badges
    rec = reconcilers(scim_base_url=None, radius_database_url=None)
    w = await make_world(staff, floors=2)
    for _ in range(2):
        await staff.post("/v1/devices", {"serial": f"PC-{uuid.uuid4().hex[:8]}", "kind": "pc", "site_id": w.site["id"]})
    lease = await seated_lease(staff, w, seats=2)
    seat_floor = {s["id"]: s["floor_id"] for s in w.seats}
    floor_name = {f["id"]: f["name"] for f in w.floors}
    assigned = await staff.get(f"/v1/leases/{lease['id']}/assignments")
    first, second = (a["seat_id"] for a in assigned)
    m0, m1 = (a["member_id"] for a in assigned)
    here = seat_floor[first]
    other = [s for s in w.seats if s["floor_id"] != here]

    async def both_active() -> bool:
        b = await _badges(staff, lease["id"])
        return len(b) == 2 and all(c["state"] == "active" for c in b.values())

    await until(rec, both_active)
    before = await _badges(staff, lease["id"])
    assert any(g.endswith(f":{floor_name[here]}:DAY") for g in receiver.holders[before[m0]["id"]]["access_groups"])
    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    pc_at = {d["seat_id"]: d["serial"] for d in view["devices"] if d["serial"].startswith("PC-")}
    assert set(pc_at) == {first, second}

    today = site_today()
    # the first agent moves today, the second from tomorrow: each follows on its own date
    now_move = await staff.post(
        f"/v1/leases/{lease['id']}/seat-moves", {"seat_id": first, "to_seat_id": other[0]["id"], "effective": today.isoformat()}
    )
    later = (today + timedelta(days=1)).isoformat()
    later_move = await staff.post(
        f"/v1/leases/{lease['id']}/seat-moves", {"member_id": m1, "to_seat_id": other[1]["id"], "effective": later}
    )
    # and on again the day after: before either date the agent still sits at the first seat
    await staff.post(
        f"/v1/leases/{lease['id']}/seat-moves",
        {"seat_id": other[1]["id"], "to_seat_id": other[2]["id"], "effective": (today + timedelta(days=2)).isoformat()},
    )
    assert now_move["member_id"] == m0
    assert later_move["from_seat_id"] == second

    async def followed() -> bool:
        b = await _badges(staff, lease["id"])
        c = b[m0]
        return (
            c["seat_id"] == other[0]["id"]
            and c["state"] == "active"
            and receiver.active(c["id"])
            and any(g.endswith(f":{floor_name[other[0]['floor_id']]}:DAY") for g in receiver.holders[c["id"]]["access_groups"])
        )

    await until(rec, followed)
    after = await _badges(staff, lease["id"])
    assert after[m0]["id"] == before[m0]["id"], "the same badge, re-pointed, not revoked and re-issued"
    assert after[m1]["seat_id"] == second, "a move dated tomorrow leaves the agent at the old seat today"
    assert any(g.endswith(f":{floor_name[here]}:DAY") for g in receiver.holders[after[m1]["id"]]["access_groups"])
    assert all(c["state"] == "active" and c["desired"] for c in after.values())
    revoked = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action IN ('credential.disabled', 'credential.deleted') "
        "AND object_id = ANY($1::text[])",
        [c["id"] for c in after.values()],
    )
    assert revoked == 0

    view = await staff.get(f"/v1/leases/{lease['id']}/credentials")
    devices = {d["serial"]: d for d in view["devices"]}
    assert devices[pc_at[first]]["seat_id"] == other[0]["id"], "the PC followed its seat"
    assert devices[pc_at[first]]["return_due_at"] is None
    assert devices[pc_at[second]]["seat_id"] == second, "not before its move's date"
    moved = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'device.move' AND after->>'lease_id' = $1", lease["id"]
    )
    assert moved == 1
    await rec.run_once(sweep=False)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'device.move' AND after->>'lease_id' = $1", lease["id"]
        )
        == 1
    ), "a move carries its devices once"

    # the seats: old rows end the day before each move, new rows start on it
    rows = {
        (r["seat_id"], r["start_date"], r["end_date"])
        for r in await db.fetch(
            "SELECT seat_id::text, start_date, end_date FROM lease_seats WHERE lease_id = $1 AND NOT voided",
            uuid.UUID(lease["id"]),
        )
    }
    start = today - timedelta(days=10)
    assert rows == {
        (first, start, today - timedelta(days=1)),
        (other[0]["id"], today, None),
        (second, start, today),
        (other[1]["id"], today + timedelta(days=1), today + timedelta(days=1)),
        (other[2]["id"], today + timedelta(days=2), None),
    }


async def test_night_agent_moved_floors_keeps_the_old_floor_until_the_last_night_there_ends(
    staff: Api, badges: tuple[BadgeReceiver, str], reconcilers: Callable[..., Reconciler]
) -> None:
    """A NIGHT shift moved to another floor from today: last night's shift runs at the old seat until
    06:00 this morning, so today the badge opens both floors; a move dated yesterday leaves only the
    new floor today (the last night at the old seat ended yesterday morning)."""
    receiver, _ = badges
    rec = reconcilers(scim_base_url=None, radius_database_url=None)
    w = await make_world(staff, floors=2)
    lease = await seated_lease(staff, w, seats=2, shift="NIGHT")
    floor_of = {s["id"]: s["floor_id"] for s in w.seats}
    name = {f["id"]: f["name"] for f in w.floors}
    assigned = await staff.get(f"/v1/leases/{lease['id']}/assignments")
    here = floor_of[assigned[0]["seat_id"]]
    other = [s for s in w.seats if s["floor_id"] != here]
    today = site_today()
    for a, target, when in ((assigned[0], other[0], today), (assigned[1], other[1], today - timedelta(days=1))):
        await staff.post(
            f"/v1/leases/{lease['id']}/seat-moves",
            {"seat_id": a["seat_id"], "to_seat_id": target["id"], "effective": when.isoformat()},
        )
    code = w.site["code"]

    async def settled() -> bool:
        b = await _badges(staff, lease["id"])
        return len(b) == 2 and all(c["state"] == "active" and receiver.active(c["id"]) for c in b.values())

    await until(rec, settled)
    b = await _badges(staff, lease["id"])
    moved_today = b[assigned[0]["member_id"]]
    assert moved_today["seat_id"] == other[0]["id"]
    assert set(moved_today["access_groups"]) == {
        f"{code}:site:NIGHT",
        f"{code}:{name[other[0]['floor_id']]}:NIGHT",
        f"{code}:{name[here]}:NIGHT",
    }
    assert set(receiver.holders[moved_today["id"]]["access_groups"]) == set(moved_today["access_groups"])
    moved_yesterday = b[assigned[1]["member_id"]]
    assert set(moved_yesterday["access_groups"]) == {f"{code}:site:NIGHT", f"{code}:{name[other[1]['floor_id']]}:NIGHT"}
