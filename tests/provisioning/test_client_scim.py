"""The client's identity provider drives access (issue 14): over HTTP to the live app's SCIM
endpoint, it creates agents, puts them in a team, one is seated; deactivating one and deleting
another unseats them and the reconciler revokes their credentials in the real targets (the SCIM
directory, the badge receiver, FreeRADIUS's tables); the deprovision time is reported as a KPI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from provisioning.reconciler import Reconciler
from tests.factories import Api, lease_body, uniq
from tests.provisioning.helpers import site_today, until
from tests.provisioning.servers import BadgeReceiver, FlakyScim
from tests.provisioning.test_lifecycle import creds_of, scim_user
from tests.scim.conftest import ScimClient, scim_client, scim_server  # noqa: F401  (the live app)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _user(name: str) -> dict[str, Any]:
    email = f"{name}-{uniq().lower()}@client-example.com"
    return {
        "schemas": [USER],
        "userName": email,
        "externalId": f"okta-{uniq()}",
        "name": {"givenName": name.title(), "familyName": "Agent"},
        "emails": [{"value": email, "primary": True, "type": "work"}],
        "active": True,
    }


async def _seated(staff: Api, c: ScimClient, http: httpx.AsyncClient, people: list[dict[str, Any]]) -> dict[str, Any]:
    start = (site_today() - timedelta(days=10)).isoformat()
    lease = await staff.post("/v1/leases", lease_body(c.world, seat_count=len(people), start_date=start))
    pairs = [{"seat_id": s["id"], "member_id": p["id"]} for s, p in zip(lease["seats"], people, strict=True)]
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=pairs)
    return lease


async def test_identity_provider_creates_groups_deactivates_and_deletes_agents(
    staff: Api,
    admin: Api,
    scim_server: str,  # noqa: F811
    scim: tuple[FlakyScim, str],
    badges: tuple[BadgeReceiver, str],
    radius_db: str | None,
    reconcilers: Callable[..., Reconciler],
    db: asyncpg.Pool,
) -> None:
    c = await scim_client(staff, admin, scim_server)
    rec = reconcilers()
    async with httpx.AsyncClient(base_url=c.base, headers=c.headers()) as idp:
        created = []
        for name in ("alice", "bob", "carol"):
            r = await idp.post("/Users", json=_user(name))
            assert r.status_code == 201, r.text
            assert r.headers["content-type"].startswith("application/scim+json")
            assert r.headers["location"] == f"{c.base}/Users/{r.json()['id']}"
            assert r.headers["etag"] == r.json()["meta"]["version"]
            created.append(r.json())
        alice, bob, carol = created
        found = (await idp.get("/Users", params={"filter": f'userName eq "{bob["userName"]}"'})).json()
        assert [u["id"] for u in found["Resources"]] == [bob["id"]]
        assert (await idp.get("/Users", params={"filter": f'externalId eq "{carol["externalId"]}"'})).json()["totalResults"] == 1
        page = (await idp.get("/Users", params={"startIndex": 2, "count": 1})).json()
        assert page["startIndex"] == 2
        assert page["itemsPerPage"] == 1
        assert page["totalResults"] == 3 + 3

        group = await idp.post("/Groups", json={"schemas": [GROUP], "displayName": f"Inbound voice {uniq()}", "members": []})
        assert group.status_code == 201, group.text
        gid = group.json()["id"]
        add = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": alice["id"]}, {"value": bob["id"]}]}],
        }
        r = await idp.patch(f"/Groups/{gid}", json=add)
        assert r.status_code == 204, r.text  # RFC 7644 §3.5.2: no body unless attributes were asked for
        r = await idp.get(f"/Groups/{gid}")
        assert {m["value"] for m in r.json()["members"]} == {alice["id"], bob["id"]}
        # the group is the client's team, with the agents as its members (the API sees the same)
        teams = {t["id"]: t for t in (await staff.get(f"/v1/clients/{c.client_id}/teams"))["items"]}
        assert teams[gid]["name"] == group.json()["displayName"]
        team_members = {m["id"] for m in (await staff.get(f"/v1/teams/{gid}/members"))["items"]}
        assert team_members == {alice["id"], bob["id"]}
        assert (await idp.get(f"/Users/{alice['id']}")).json()["groups"][0]["value"] == gid

        lease = await _seated(staff, c, idp, [alice, bob])

        async def granted() -> bool:
            items = await creds_of(staff, lease["id"])
            return len(items) == 2 * len(rec.providers) and all(i["state"] == "active" for i in items)

        await until(rec, granted)

        # the identity provider deactivates alice and deletes bob
        off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        r = await idp.patch(f"/Users/{alice['id']}", json=off, params={"attributes": "active"})
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False
        r = await idp.delete(f"/Users/{bob['id']}")
        assert r.status_code == 204, r.text
        assert (await idp.get(f"/Users/{bob['id']}")).status_code == 404
        assert bob["id"] not in {m["value"] for m in (await idp.get(f"/Groups/{gid}")).json().get("members", [])}

    # their seats are released at once ...
    assert not await db.fetch("SELECT 1 FROM seat_assignments WHERE lease_id = $1", uuid.UUID(lease["id"]))

    # ... and the reconciler cuts every credential of theirs in the real targets
    async def cut() -> bool:
        return all(i["state"] in ("revoking", "revoked") and i["disabled_at"] for i in await creds_of(staff, lease["id"]))

    await until(rec, cut)
    receiver, _ = badges
    _, url = scim
    for cred in await creds_of(staff, lease["id"]):
        assert cred["desired"] is False
        if cred["kind"] == "directory":
            user = await scim_user(url, cred["id"])
            assert user is not None
            assert user["active"] is False
        if cred["kind"] == "badge":
            assert not receiver.active(cred["id"])
        if cred["kind"] == "wifi" and radius_db is not None:
            conn = await asyncpg.connect(radius_db.replace("postgresql+asyncpg://", "postgresql://", 1))
            try:
                rows = await conn.fetch(
                    "SELECT attribute, value FROM radcheck WHERE username = $1", cred["external_id"] or cred["login"]
                )
            finally:
                await conn.close()
            assert [(r["attribute"], r["value"]) for r in rows] == [("Auth-Type", "Reject")]

    # the time from each SCIM call to the agent's last credential cut is recorded and reported
    rows = await db.fetch(
        "SELECT kind, requested_at, completed_at, credentials FROM scim_deprovisions WHERE member_id = ANY($1::uuid[])",
        [alice["id"], bob["id"]],
    )
    assert sorted(r["kind"] for r in rows) == ["deactivate", "delete"]
    assert all(r["credentials"] == len(rec.providers) and r["completed_at"] > r["requested_at"] for r in rows)
    kpis = await staff.get("/v1/provisioning/kpis")
    assert kpis["scim_deprovision_time"]["count"] >= 2
    assert kpis["scim_deprovision_time"]["p50_seconds"] is not None
    assert kpis["scim_deprovision_time"]["max_seconds"] is not None
    assert kpis["scim_deprovisions_waiting"] == 0
    r = await staff.call("GET", "/metrics", 200)
    assert 'seatlease_scim_deprovision_seconds{quantile="0.5"}' in r.text

    # every change is audited, the identity provider (its token) as the actor
    actor = f"scim:{c.client_id}"
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_events WHERE actor = $1 ORDER BY at", actor)]
    for expected in (
        "scim.user_create",
        "scim.group_create",
        "scim.group_update",
        "member.remove",
        "scim.user_update",
        "scim.user_delete",
    ):
        assert expected in actions, (expected, actions)
    assert actions.count("member.remove") == 2


async def test_two_concurrent_deactivations_deprovision_once(
    staff: Api,
    admin: Api,
    scim_server: str,  # noqa: F811
    db: asyncpg.Pool,
) -> None:
    c = await scim_client(staff, admin, scim_server)
    async with httpx.AsyncClient(base_url=c.base, headers=c.headers()) as idp:
        user = (await idp.post("/Users", json=_user("dave"))).json()
        lease = await _seated(staff, c, idp, [user])
        off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        answers = await asyncio.gather(
            *(idp.patch(f"/Users/{user['id']}", json=off, params={"attributes": "active"}) for _ in range(2))
        )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert all(a.json()["active"] is False for a in answers)
    member = uuid.UUID(user["id"])
    assert await db.fetchval("SELECT count(*) FROM scim_deprovisions WHERE member_id = $1", member) == 1
    n = await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'member.remove'", str(member))
    assert n == 1
    n = await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'scim.user_update'", str(member))
    assert n == 1
    assert not await db.fetch("SELECT 1 FROM seat_assignments WHERE lease_id = $1", uuid.UUID(lease["id"]))
