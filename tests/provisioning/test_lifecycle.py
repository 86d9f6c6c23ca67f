"""Every credential follows its lease: granted on start, revoked on exit, in real target systems."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx

from provisioning.reconciler import Reconciler
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today, until
from tests.provisioning.servers import BadgeReceiver, FlakyScim


async def scim_user(url: str, credential_id: str) -> dict | None:
    async with httpx.AsyncClient() as c:
        r = await c.get(f"{url}/Users", params={"filter": f'externalId eq "{credential_id}"'})
        found = r.json().get("Resources") or []
        assert len(found) <= 1, "one account per credential"
        return found[0] if found else None


async def creds_of(staff: Api, lease_id: str) -> list[dict]:
    return (await staff.get(f"/v1/leases/{lease_id}/credentials"))["items"]


async def test_lease_start_grants_and_lease_end_revokes(
    staff: Api, scim: tuple[FlakyScim, str], badges: tuple[BadgeReceiver, str], reconcilers: Callable[..., Reconciler]
) -> None:
    _, url = scim
    receiver, _ = badges
    rec = reconcilers()
    w = await make_world(staff)
    lease = await seated_lease(staff, w)

    async def all_active() -> bool:
        items = await creds_of(staff, lease["id"])
        return len(items) == 3 * len(rec.providers) and all(c["state"] == "active" for c in items)

    await until(rec, all_active)
    items = await creds_of(staff, lease["id"])
    assert {c["kind"] for c in items} == set(rec.providers)
    assert all("secret" not in c for c in items)
    for c in items:
        if c["kind"] == "directory":
            user = await scim_user(url, c["id"])
            assert user is not None
            assert user["active"] is True
            assert user["id"] == c["external_id"]
        if c["kind"] == "badge":
            assert receiver.active(c["id"])
            assert receiver.holders[c["id"]]["access_groups"] == c["access_groups"]
            assert c["access_groups"][0].endswith(":DAY")
    # the directory groups exist per client and per site, with the members in them
    async with httpx.AsyncClient() as web:
        groups = (await web.get(f"{url}/Groups", params={"filter": f'displayName eq "seatlease-client-{w.client["id"]}"'})).json()
    members = {m["value"] for m in groups["Resources"][0]["members"]}
    assert {c["external_id"] for c in items if c["kind"] == "directory"} <= members

    yesterday = (site_today() - timedelta(days=1)).isoformat()
    ended = await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": yesterday}, expect=200)
    assert ended["status"] == "ended"

    async def all_revoking() -> bool:
        return all(c["state"] == "revoking" and c["disabled_at"] for c in await creds_of(staff, lease["id"]))

    await until(rec, all_revoking)
    for c in await creds_of(staff, lease["id"]):
        assert c["desired"] is False
        if c["kind"] == "directory":
            user = await scim_user(url, c["id"])
            assert user is not None, "disabled first, deleted after the grace period"
            assert user["active"] is False
        if c["kind"] == "badge":
            assert not receiver.active(c["id"])
    kpis = await staff.get("/v1/provisioning/kpis")
    assert kpis["credentials_active_without_lease"] == 0
    assert kpis["revocation_lag"]["count"] >= 3


async def test_delete_after_grace_period(staff: Api, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]) -> None:
    _, url = scim
    rec = reconcilers(delete_grace_seconds=0.3)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=1)
    await until(rec, lambda: _states(staff, lease["id"], {"active"}))
    await staff.post(f"/v1/leases/{lease['id']}/end", {"end_date": (site_today() - timedelta(days=1)).isoformat()}, expect=200)
    await until(rec, lambda: _states(staff, lease["id"], {"revoked"}))
    for c in await creds_of(staff, lease["id"]):
        assert c["revoked_at"] is not None
        if c["kind"] == "directory":
            assert await scim_user(url, c["id"]) is None


async def _states(staff: Api, lease_id: str, states: set[str]) -> bool:
    items = await creds_of(staff, lease_id)
    return bool(items) and {c["state"] for c in items} <= states


async def test_member_removal_seat_release_and_reassignment(
    staff: Api, scim: tuple[FlakyScim, str], reconcilers: Callable[..., Reconciler]
) -> None:
    _, url = scim
    rec = reconcilers()
    w = await make_world(staff)
    lease = await seated_lease(staff, w)
    await until(rec, lambda: _states(staff, lease["id"], {"active"}))
    m0, m1, m2 = (m["id"] for m in w.members)
    seats = [s["id"] for s in lease["seats"]]

    # member 0 leaves the client; member 1's seat is released today; member 2 moves to seat 0
    await staff.call("DELETE", f"/v1/members/{m0}", 200)
    await staff.call("DELETE", f"/v1/leases/{lease['id']}/seats/{seats[1]}", 200, params={"effective": site_today().isoformat()})
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=[{"seat_id": seats[0], "member_id": m2}])

    async def settled() -> bool:
        items = await creds_of(staff, lease["id"])
        gone = [c for c in items if c["member_id"] in (m0, m1)]
        kept = [c for c in items if c["member_id"] == m2]
        return all(c["state"] == "revoking" for c in gone) and all(
            c["state"] == "active" and c["seat_id"] == seats[0] for c in kept
        )

    await until(rec, settled)
    for c in await creds_of(staff, lease["id"]):
        if c["kind"] == "directory":
            user = await scim_user(url, c["id"])
            assert user is not None
            assert user["active"] is (c["member_id"] == m2)


async def test_cancelled_lease_never_grants(staff: Api, reconcilers: Callable[..., Reconciler]) -> None:
    rec = reconcilers()
    w = await make_world(staff)
    future = (site_today() + timedelta(days=30)).isoformat()
    lease = await staff.post(
        "/v1/leases",
        {
            "client_id": w.client["id"],
            "team_id": w.team["id"],
            "site_id": w.site["id"],
            "plan_id": w.plan["id"],
            "shift": "DAY",
            "start_date": future,
            "seat_count": 1,
        },
    )
    await staff.call(
        "PUT",
        f"/v1/leases/{lease['id']}/assignments",
        200,
        json=[{"seat_id": lease["seats"][0]["id"], "member_id": w.members[0]["id"]}],
    )
    await rec.run_once(sweep=False)
    assert await creds_of(staff, lease["id"]) == [], "a lease that has not started grants nothing yet"
    await staff.post(f"/v1/leases/{lease['id']}/cancel", None, expect=200)
    await rec.run_once(sweep=False)
    assert await creds_of(staff, lease["id"]) == []
