"""A help desk's world: a site, a client leasing two seats today (FULL shift), a device on one of them,
the client's admin and viewer logins; a second client with a seat of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from fastapi import FastAPI

from tests.factories import Api, ClientLogin, World, lease_body, make_world, uniq


@dataclass
class Desk:
    w: World
    lease: dict[str, Any]
    seats: list[dict[str, Any]]  # the client's leased seats
    device_id: str  # on seats[0]
    free_seat: dict[str, Any]  # a seat of the site nobody leases
    client: Api  # client_admin
    viewer: Api  # client_viewer
    other_client_id: str
    other: Api  # the other client's admin
    other_lease: dict[str, Any]
    other_seat: dict[str, Any]

    def body(self, **kw: Any) -> dict[str, Any]:
        b: dict[str, Any] = {"category": "device", "priority": "high", "subject": "Headset dead", "seat_id": self.seats[0]["id"]}
        b.update(kw)
        return b


def site_today(w: World) -> str:
    return datetime.now(ZoneInfo(w.site["timezone"])).date().isoformat()


@pytest.fixture
async def desk(staff: Api, client_login: ClientLogin, db: asyncpg.Pool) -> Desk:
    w = await make_world(staff)
    today = site_today(w)
    lease = await staff.post("/v1/leases", lease_body(w, shift="FULL", start_date=today, seat_count=2))
    seats = lease["seats"]
    device = await staff.post("/v1/devices", {"serial": uniq("SN"), "kind": "headset", "site_id": w.site["id"]})
    await db.execute(
        "UPDATE devices SET seat_id = $1, lease_id = $2, status = 'assigned' WHERE id = $3",
        uuid.UUID(seats[0]["id"]),
        uuid.UUID(lease["id"]),
        uuid.UUID(device["id"]),
    )
    other = await staff.post("/v1/clients", {"legal_name": f"Other {uniq()}", "billing_email": "ap@other-example.com"})
    team = await staff.post(f"/v1/clients/{other['id']}/teams", {"name": "Team"})
    other_lease = await staff.post(
        "/v1/leases", lease_body(w, client_id=other["id"], team_id=team["id"], shift="FULL", start_date=today, seat_count=1)
    )
    held = {s["id"] for s in [*seats, *other_lease["seats"]]}
    free = next(s for s in w.seats if s["id"] not in held)
    return Desk(
        w=w,
        lease=lease,
        seats=seats,
        device_id=device["id"],
        free_seat=free,
        client=await client_login(w.client["id"]),
        viewer=await client_login(w.client["id"], "client_viewer"),
        other_client_id=other["id"],
        other=await client_login(other["id"]),
        other_lease=other_lease,
        other_seat=other_lease["seats"][0],
    )


@pytest.fixture
def ticket_settings(app: FastAPI) -> Iterator[Any]:
    """Change the app's ticket settings for one test: `ticket_settings(ticket_attachment_max_bytes=10)`."""
    before = app.state.settings

    def change(**kw: Any) -> None:
        app.state.settings = before.model_copy(update=kw)

    yield change
    app.state.settings = before


# --- help desk staff side (issue 15): the help desk's tests start from the SLA targets migration 0038
# seeds; the targets are one table for the whole test database, and other tests (the admin's page,
# the API's schemathesis run) edit them ---
DEFAULTS = {"urgent": (15, 4 * 60), "high": (60, 8 * 60), "normal": (4 * 60, 24 * 60), "low": (24 * 60, 5 * 24 * 60)}


async def reset_sla_policies(db: asyncpg.Pool) -> None:
    for priority, (response, resolution) in DEFAULTS.items():
        await db.execute(
            "UPDATE sla_policies SET response_minutes = $2, resolution_minutes = $3, due_soon_percent = 20"
            " WHERE priority = $1 AND (response_minutes, resolution_minutes, due_soon_percent) <> ($2, $3, 20)",
            priority,
            response,
            resolution,
        )


@pytest.fixture(autouse=True)
async def _default_sla_policies(db: asyncpg.Pool) -> None:
    await reset_sla_policies(db)
