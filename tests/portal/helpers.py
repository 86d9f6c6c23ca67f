"""Shared set-up of the portal's lease, seat and agent tests: leases made as staff through the API,
and another tenant on the same floor (whose seats the client must see only as taken)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.factories import Api, World, lease_body, uniq
from tests.portal.conftest import csrf_of


def site_today(tz: str = "Asia/Manila") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def days(n: int) -> str:
    """The site's date ``n`` days from today, as the forms and the API write it."""
    return (site_today() + timedelta(days=n)).isoformat()


async def active_lease(staff: Api, w: World, seats: int = 2, **kw: Any) -> dict[str, Any]:
    """A lease of the world's client that started five days ago (rolling, 30 days' notice)."""
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=seats, start_date=days(-5), **kw))
    assert lease["status"] == "active", lease
    return lease


async def seat(staff: Api, lease: dict[str, Any], pairs: list[tuple[int, dict[str, Any]]]) -> None:
    """Agents at seats: (index of the lease's seat, member)."""
    body = [{"seat_id": lease["seats"][i]["id"], "member_id": m["id"]} for i, m in pairs]
    await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=body)


@dataclass
class Rival:
    """Another tenant leasing seats on the same site, floor and shift."""

    client: dict[str, Any]
    team: dict[str, Any]
    member: dict[str, Any]
    lease: dict[str, Any]


async def rival_on_site(staff: Api, w: World, seats: int = 2) -> Rival:
    client = await staff.post(
        "/v1/clients", {"legal_name": f"Rival {uniq()} Corp", "billing_email": f"ap-{uniq().lower()}@rival-example.com"}
    )
    team = await staff.post(f"/v1/clients/{client['id']}/teams", {"name": f"Rival team {uniq()}"})
    member = await staff.post(
        f"/v1/teams/{team['id']}/members",
        {"name": f"Zed Rivalagent {uniq()}", "email": f"zed-{uniq().lower()}@rival-example.com", "employee_id": "R-1"},
    )
    lease = await staff.post(
        "/v1/leases", lease_body(w, client_id=client["id"], team_id=team["id"], seat_count=seats, start_date=days(-5))
    )
    await seat(staff, lease, [(0, member)])
    return Rival(client, team, member, lease)


async def form_post(http: httpx.Client, page_path: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Post a portal form the way a browser would: with the CSRF token of a page the session opened."""
    token = csrf_of((await asyncio.to_thread(http.get, page_path)).text)
    return await asyncio.to_thread(http.post, action, data={"csrf_token": token, **data})
