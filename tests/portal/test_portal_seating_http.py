"""The portal's lease, seat and agent routes over plain HTTP (issue 14): a client viewer reads but
every action is a 403 page that changes nothing; another client's lease, seat, team, member or
credential on any of these routes is a 404 page that changes nothing, for its admin as for its viewer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx

from tests.factories import Api, lease_body
from tests.portal.conftest import PortalClient, make_portal_client, portal_login
from tests.portal.helpers import active_lease, days, form_post, seat


async def _state(staff: Api, db: asyncpg.Pool, pc: PortalClient, lease: dict[str, Any]) -> Any:
    """Everything these routes could change of a client: its leases, seats, seating, teams, agents."""
    w = pc.world
    return (
        await staff.get(f"/v1/leases/{lease['id']}"),
        await staff.get(f"/v1/leases/{lease['id']}/assignments"),
        await staff.get(f"/v1/leases/{lease['id']}/seat-moves"),
        await staff.get(f"/v1/clients/{w.client['id']}/teams"),
        await staff.get(f"/v1/teams/{w.team['id']}/members"),
        await db.fetchval("SELECT count(*) FROM leases WHERE client_id = $1", uuid.UUID(w.client["id"])),
        await db.fetchval("SELECT count(*) FROM audit_events WHERE client_id = $1", uuid.UUID(w.client["id"])),
    )


def _actions(
    lease: dict[str, Any], seat_id: str, member: dict[str, Any], team: dict[str, Any], to_seat: str
) -> list[tuple[str, dict[str, str]]]:
    lid = lease["id"]
    return [
        (f"/portal/leases/{lid}/assignments", {f"seat_{seat_id}": member["id"]}),
        (f"/portal/leases/{lid}/move-seat", {"move_from": seat_id, "move_to": to_seat, "move_effective": days(3)}),
        (f"/portal/leases/{lid}/seats", {"add_count": "1", "add_effective": days(1)}),
        (f"/portal/leases/{lid}/seats/{seat_id}/release", {"effective": days(2), "confirmed": "yes"}),
        (f"/portal/leases/{lid}/seats/{seat_id}/release", {"effective": days(2)}),
        (f"/portal/leases/{lid}/end", {"end_date": days(60), "confirmed": "yes"}),
        (f"/portal/leases/{lid}/end", {"end_date": days(60)}),
        (f"/portal/leases/{lid}/cancel", {"confirmed": "yes"}),
        (f"/portal/leases/{lid}/accept", {}),
        (f"/portal/teams/{team['id']}/members", {"name": "Intruder", "email": "intruder@example.com", "employee_id": "X"}),
        (f"/portal/members/{member['id']}/remove", {"confirmed": "yes"}),
        (f"/portal/members/{member['id']}/remove", {}),
    ]


async def test_a_client_viewer_reads_but_every_action_is_a_403_page(
    live_server: str, staff: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    w = portal_client.world
    lease = await active_lease(staff, w, seats=2)
    await seat(staff, lease, [(0, w.members[0])])
    to_seat = next(s["id"] for s in w.seats if s["id"] not in {x["id"] for x in lease["seats"]})
    before = await _state(staff, db, portal_client, lease)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
        assert (await asyncio.to_thread(portal_login, http, portal_client.viewer_email)).status_code == 303
        for path in (
            "/portal/leases",
            f"/portal/leases/{lease['id']}",
            f"/portal/leases/{lease['id']}/credentials",
            "/portal/teams",
            f"/portal/members/{w.members[0]['id']}",
            f"/portal/members/{w.members[0]['id']}/credentials",
        ):
            r = await asyncio.to_thread(http.get, path)
            assert r.status_code == 200, path
        r = await asyncio.to_thread(http.get, "/portal/book")
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("text/html")
        page = f"/portal/leases/{lease['id']}"
        actions = [
            *_actions(lease, lease["seats"][0]["id"], w.members[0], w.team, to_seat),
            ("/portal/teams", {"team_name": "T"}),
        ]
        actions.append(
            (
                "/portal/book",
                {
                    "team_id": w.team["id"],
                    "site_id": w.site["id"],
                    "plan_id": w.plan["id"],
                    "shift": "DAY",
                    "start_date": days(3),
                    "seat_count": "1",
                    "action": "confirm",
                },
            )
        )
        actions.append((f"/portal/credentials/{uuid.uuid4()}/reveal", {}))
        for action, data in actions:
            r = await form_post(http, page, action, data)
            assert r.status_code == 403, (action, r.status_code)
            assert r.headers["content-type"].startswith("text/html")
            assert "403" in r.text
    assert await _state(staff, db, portal_client, lease) == before


async def test_another_clients_ids_are_404_pages_that_change_nothing(
    live_server: str, staff: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    mine = await active_lease(staff, portal_client.world, seats=1)
    other = await make_portal_client(staff, db)
    ow = other.world
    theirs = await active_lease(staff, ow, seats=2, end_date=days(300))
    await seat(staff, theirs, [(0, ow.members[0])])
    proposal = await staff.post("/v1/proposals", lease_body(ow, seat_count=1, start_date=days(40)))
    to_seat = next(s["id"] for s in ow.seats if s["id"] not in {x["id"] for x in theirs["seats"]})
    before = (await _state(staff, db, other, theirs), await staff.get(f"/v1/proposals/{proposal['id']}"))
    mine_before = await _state(staff, db, portal_client, mine)
    their_seat = theirs["seats"][0]["id"]

    for email in (portal_client.admin_email, portal_client.viewer_email):
        with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as http:
            assert (await asyncio.to_thread(portal_login, http, email)).status_code == 303
            for path in (
                f"/portal/leases/{theirs['id']}",
                f"/portal/leases/{proposal['id']}",
                f"/portal/leases/{proposal['id']}/proposal.pdf",
                f"/portal/members/{ow.members[0]['id']}",
                f"/portal/members/{ow.members[0]['id']}/credentials",
                f"/portal/leases/{theirs['id']}/credentials",
            ):
                r = await asyncio.to_thread(http.get, path)
                assert r.status_code == 404, path
                assert ow.client["legal_name"] not in r.text
            if email != portal_client.admin_email:
                continue  # a viewer's posts stop at 403 (above); an admin's must find nothing
            page = f"/portal/leases/{mine['id']}"
            actions = _actions(theirs, their_seat, ow.members[0], ow.team, to_seat)
            actions += [
                (f"/portal/leases/{proposal['id']}/accept", {}),
                # my own lease with their seat: not mine to release
                (f"/portal/leases/{mine['id']}/seats/{their_seat}/release", {"effective": days(2), "confirmed": "yes"}),
                (f"/portal/leases/{mine['id']}/seats/{their_seat}/release", {"effective": days(2)}),
            ]
            for action, data in actions:
                r = await form_post(http, page, action, data)
                assert r.status_code == 404, (action, r.status_code, r.text[:300])
                assert r.headers["content-type"].startswith("text/html")
                assert ow.client["legal_name"] not in r.text
    assert (await _state(staff, db, other, theirs), await staff.get(f"/v1/proposals/{proposal['id']}")) == before
    assert await _state(staff, db, portal_client, mine) == mine_before
