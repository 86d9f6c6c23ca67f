"""The mass-revocation guard holds back only drift: credentials that leave the desired state with
no recorded business event behind them. A lease end, a cancellation, a seat release, a member
removed or unassigned is revoked at once, however many credentials it takes with it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg

from provisioning.reconciler import Reconciler
from tests.factories import Api, World, lease_body, make_world, uniq
from tests.provisioning.helpers import site_today

DIRECTORY_ONLY = {"badge_webhook_url": None, "radius_database_url": None}


async def _world(staff: Api, members: int, seats: int) -> World:
    w = await make_world(staff, zones=1, seats_per_zone=seats, columns=10)
    for i in range(len(w.members), members):
        w.members.append(
            await staff.post(
                f"/v1/teams/{w.team['id']}/members",
                {"name": f"Agent {i}", "email": f"agent{i}-{uniq().lower()}@client-example.com", "employee_id": f"E{i:04d}"},
            )
        )
    return w


async def _seated(staff: Api, w: World, seats: int) -> dict[str, Any]:
    start = (site_today() - timedelta(days=10)).isoformat()
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=seats, start_date=start))
    assert lease["status"] == "active"
    pairs = [{"seat_id": s["id"], "member_id": m["id"]} for s, m in zip(lease["seats"], w.members, strict=False)]
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=pairs)
    return lease


async def _desired(db: asyncpg.Pool, lease_id: str) -> list[bool]:
    return [r["desired"] for r in await db.fetch("SELECT desired FROM credentials WHERE lease_id = $1", uuid.UUID(lease_id))]


async def _end(staff: Api, lease: dict[str, Any]) -> None:
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=1)).isoformat()}, expect=200)


async def test_ending_one_clients_big_lease_revokes_it_all_with_no_guard(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    big_w, small_w = await _world(staff, 60, 60), await _world(staff, 40, 40)
    big, small = await _seated(staff, big_w, 60), await _seated(staff, small_w, 40)
    # a guard as strict as it gets, above a floor of 20: 60 revocations at once would trip it before
    rec = reconcilers(**DIRECTORY_ONLY, mass_revoke_share=0.000001, mass_revoke_min=20)
    await rec.derive()
    assert await _desired(db, big["id"]) == [True] * 60
    pending_before = await db.fetchval("SELECT count(*) FROM revocation_guards WHERE status = 'pending'")

    await _end(staff, big)
    out = await rec.derive()
    assert out["guard_held"] == 0
    assert out["revoked"] >= 60
    assert await _desired(db, big["id"]) == [False] * 60, "all of the ended lease's credentials are revoked"
    assert await _desired(db, small["id"]) == [True] * 40, "the other client's stay"
    assert await db.fetchval("SELECT count(*) FROM revocation_guards WHERE status = 'pending'") == pending_before
    states = {r["state"] for r in await db.fetch("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(big["id"]))}
    assert states == {"revoking"}
    await _end(staff, small)
    await rec.derive()


async def test_drift_is_held_alone_and_everything_else_goes_on(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    drift_w, other_w, new_w = await _world(staff, 30, 30), await _world(staff, 5, 5), await _world(staff, 3, 3)
    drifting, other = await _seated(staff, drift_w, 30), await _seated(staff, other_w, 5)
    rec = reconcilers(**DIRECTORY_ONLY, mass_revoke_share=0.000001, mass_revoke_min=20)
    await rec.derive()

    # 25 of the lease's seat rows vanish (no release, no lease end: data gone wrong)
    gone = await db.fetch(
        "DELETE FROM lease_seats WHERE id IN (SELECT id FROM lease_seats WHERE lease_id = $1 ORDER BY id LIMIT 25) "
        "RETURNING seat_id",
        uuid.UUID(drifting["id"]),
    )
    assert len(gone) == 25
    out = await rec.derive()
    assert out["drifted"] == 25
    assert out["guard_held"] == 25
    held = await db.fetch(
        "SELECT desired, state FROM credentials WHERE lease_id = $1 AND seat_id = ANY($2::uuid[])",
        uuid.UUID(drifting["id"]),
        [r["seat_id"] for r in gone],
    )
    assert len(held) == 25
    assert all(r["desired"] for r in held), "drift waits for a human"
    guards = await staff.get("/v1/provisioning/guards", params={"status": "pending"})
    assert guards
    assert guards[0]["would_revoke"] == 25

    # during the hold: a lease that ends is revoked, a new lease is granted
    await _end(staff, other)
    fresh = await _seated(staff, new_w, 3)
    out = await rec.derive()
    assert out["guard_held"] == 25
    assert await _desired(db, other["id"]) == [False] * 5, "a lease end is revoked during the hold"
    assert await _desired(db, fresh["id"]) == [True] * 3, "a new lease is granted during the hold"
    assert sorted(await _desired(db, drifting["id"])) == [True] * 30, "the untouched seats stay too"

    # a human confirms: the drift is revoked, nothing else of that lease
    await staff.post(f"/v1/provisioning/guards/{guards[0]['id']}/confirm", None, expect=200)
    out = await rec.derive()
    assert out["revoked"] >= 25
    assert sorted(await _desired(db, drifting["id"])) == [False] * 25 + [True] * 5
    for lease in (drifting, fresh):
        await _end(staff, lease)
    await rec.derive()


async def test_drift_under_the_floor_is_revoked_without_a_hold(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    w = await _world(staff, 5, 5)
    lease = await _seated(staff, w, 5)
    rec = reconcilers(**DIRECTORY_ONLY, mass_revoke_share=0.000001, mass_revoke_min=20)
    await rec.derive()
    pending_before = await db.fetchval("SELECT count(*) FROM revocation_guards WHERE status = 'pending'")
    await db.execute(
        "DELETE FROM lease_seats WHERE id IN (SELECT id FROM lease_seats WHERE lease_id = $1 ORDER BY id LIMIT 3)",
        uuid.UUID(lease["id"]),
    )
    out = await rec.derive()
    assert out["drifted"] == 3
    assert out["guard_held"] == 0
    assert sorted(await _desired(db, lease["id"])) == [False] * 3 + [True] * 2
    assert await db.fetchval("SELECT count(*) FROM revocation_guards WHERE status = 'pending'") == pending_before
    await _end(staff, lease)
    await rec.derive()


async def test_seat_release_member_removal_and_unassignment_are_business_events(
    staff: Api, db: asyncpg.Pool, reconcilers: Callable[..., Reconciler]
) -> None:
    w = await _world(staff, 4, 4)
    lease = await _seated(staff, w, 4)
    rec = reconcilers(**DIRECTORY_ONLY, mass_revoke_share=0.000001, mass_revoke_min=1)  # any drift at all trips
    await rec.derive()
    creds = {r["member_id"]: r for r in await db.fetch("SELECT * FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))}
    members = [uuid.UUID(m["id"]) for m in w.members[:4]]
    # member 0's seat released today, member 1 removed, member 2 unassigned; member 3 stays
    await staff.call(
        "DELETE",
        f"/v1/leases/{lease['id']}/seats/{creds[members[0]]['seat_id']}",
        200,
        params={"effective": site_today().isoformat()},
    )
    await staff.call("DELETE", f"/v1/members/{members[1]}", 200)
    keep = [{"seat_id": str(creds[members[3]]["seat_id"]), "member_id": str(members[3])}]
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=keep)
    out = await rec.derive()
    assert out["drifted"] == 0
    assert out["guard_held"] == 0
    after = {
        r["member_id"]: r["desired"]
        for r in await db.fetch("SELECT member_id, desired FROM credentials WHERE lease_id = $1", uuid.UUID(lease["id"]))
    }
    assert after == {members[0]: False, members[1]: False, members[2]: False, members[3]: True}
    await _end(staff, lease)
    await rec.derive()
