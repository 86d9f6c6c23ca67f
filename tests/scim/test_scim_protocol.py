"""The endpoint's protocol beyond the checker: filters, sorting, paging, ETags, PUT, group moves."""

from __future__ import annotations

import httpx

from tests.factories import Api
from tests.scim.conftest import scim_client

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def test_filters_sorting_paging_etags_and_group_moves(staff: Api, admin: Api, scim_server: str) -> None:
    c = await scim_client(staff, admin, scim_server)
    async with httpx.AsyncClient(base_url=c.base, headers=c.headers()) as idp:
        ids = []
        for name in ("zoe", "adam", "mia"):
            r = await idp.post("/Users", json={"schemas": [USER], "userName": f"{name}@c.example", "displayName": name.title()})
            ids.append(r.json()["id"])
        zoe, adam, mia = ids
        r = (await idp.get("/Users", params={"filter": 'userName co "@c.example"', "sortBy": "userName"})).json()
        assert [u["userName"] for u in r["Resources"]] == ["adam@c.example", "mia@c.example", "zoe@c.example"]
        # userName is compared without case (RFC 7643: caseExact false), externalId with it
        r = (await idp.get("/Users", params={"filter": 'userName eq "ADAM@C.EXAMPLE"'})).json()
        assert [u["id"] for u in r["Resources"]] == [adam]
        patch = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "externalId", "value": "Okta-7"}]}
        assert (await idp.patch(f"/Users/{adam}", json=patch)).status_code in (200, 204)
        assert (await idp.get("/Users", params={"filter": 'externalId eq "Okta-7"'})).json()["totalResults"] == 1
        assert (await idp.get("/Users", params={"filter": 'externalId eq "okta-7"'})).json()["totalResults"] == 0
        r = (await idp.get("/Users", params={"filter": 'displayName eq "Mia"'})).json()
        assert [u["id"] for u in r["Resources"]] == [mia]
        r = (await idp.get("/Users", params={"filter": 'userName sw "zo" or userName sw "ad"', "count": 1})).json()
        assert r["totalResults"] == 2
        assert len(r["Resources"]) == 1

        # ETags: a stale If-Match is refused, the current one accepted
        got = await idp.get(f"/Users/{zoe}")
        etag = got.headers["etag"]
        rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Zoë"}]}
        r = await idp.patch(f"/Users/{zoe}", json=rename, headers={"If-Match": etag})
        assert r.status_code in (200, 204), r.text
        r = await idp.patch(
            f"/Users/{zoe}",
            json=rename | {"Operations": [{"op": "replace", "path": "displayName", "value": "Z"}]},
            headers={"If-Match": etag},
        )
        assert r.status_code == 412
        assert (await idp.get(f"/Users/{zoe}")).json()["displayName"] == "Zoë"

        # PUT replaces; the member's name follows
        body = {
            "schemas": [USER],
            "userName": "zoe@c.example",
            "name": {"givenName": "Zoe", "familyName": "Cruz"},
            "active": True,
        }
        r = await idp.put(f"/Users/{zoe}", json=body)
        assert r.status_code == 200, r.text
        members = {
            m["id"]: m
            for t in (await staff.get(f"/v1/clients/{c.client_id}/teams"))["items"]
            for m in (await staff.get(f"/v1/teams/{t['id']}/members"))["items"]
        }
        assert members[zoe]["name"] == "Zoe Cruz"

        # an agent sits in one team: joining a second group leaves the first
        g1 = (await idp.post("/Groups", json={"schemas": [GROUP], "displayName": "Voice", "members": [{"value": adam}]})).json()
        g2 = (await idp.post("/Groups", json={"schemas": [GROUP], "displayName": "Chat", "members": [{"value": adam}]})).json()
        assert "members" not in (await idp.get(f"/Groups/{g1['id']}")).json()
        assert (await idp.get(f"/Users/{adam}")).json()["groups"][0]["value"] == g2["id"]
        r = (await idp.get("/Groups", params={"filter": 'displayName eq "Chat"'})).json()
        assert [g["id"] for g in r["Resources"]] == [g2["id"]]
        # a nested group or an unknown user as a member is refused, nothing changes
        bad = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": g1["id"], "type": "Group"}]}],
        }
        assert (await idp.patch(f"/Groups/{g2['id']}", json=bad)).status_code == 400
        unknown = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "0" * 32}]}]}
        assert (await idp.patch(f"/Groups/{g2['id']}", json=unknown)).status_code == 404
        assert [m["value"] for m in (await idp.get(f"/Groups/{g2['id']}")).json()["members"]] == [adam]
        # deleting a group keeps its agents (in no group now)
        assert (await idp.delete(f"/Groups/{g2['id']}")).status_code == 204
        assert (await idp.get(f"/Groups/{g2['id']}")).status_code == 404
        assert "groups" not in (await idp.get(f"/Users/{adam}")).json()


async def test_a_deleted_agent_can_be_made_again_under_the_same_address(staff: Api, admin: Api, scim_server: str) -> None:
    c = await scim_client(staff, admin, scim_server)
    body = {"schemas": [USER], "userName": "rehire@c.example", "emails": [{"value": "rehire@c.example", "primary": True}]}
    async with httpx.AsyncClient(base_url=c.base, headers=c.headers()) as idp:
        first = (await idp.post("/Users", json=body)).json()
        assert (await idp.delete(f"/Users/{first['id']}")).status_code == 204
        again = await idp.post("/Users", json=body)
        assert again.status_code == 201, again.text
        assert again.json()["id"] != first["id"]
        assert (await idp.post("/Users", json=body)).status_code == 409
