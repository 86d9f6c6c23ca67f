"""The seat map shows a seat held exactly when availability says it is taken: one rule (the stored
occupancy segments, a night's morning tail included) for the map, availability and occupancy."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx

from tests.admin.conftest import PASSWORD
from tests.admin.test_admin_http import admin_login
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world


async def test_the_map_holds_a_seat_when_availability_does(live_http: httpx.Client, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff, zones=1, seats_per_zone=2)
    await staff.post(f"/v1/sites/{w.site['id']}/shifts", {"code": "DAWN", "starts_at": "03:00", "ends_at": "09:00"})
    seat = w.seats[0]
    # NIGHT 21:00-06:00 from the evening of 03-01 to the morning of 03-06
    body = lease_body(w, seat_ids=[seat["id"]], shift="NIGHT", start_date="2031-03-01", end_date="2031-03-05")
    body.pop("seat_count", None)
    await staff.post("/v1/leases", body)
    email, _ = await make_user(db, "admin", password=PASSWORD)
    admin_login(live_http, email)
    for day, held in (("2031-03-01", False), ("2031-03-03", True), ("2031-03-06", True), ("2031-03-07", False)):
        avail = await staff.get(
            f"/v1/sites/{w.site['id']}/availability", params={"shift": "DAWN", "start": day, "end": day, "seats": 10}
        )
        assert (seat["id"] not in {s["id"] for s in avail["seats"]}) is held, day
        panel = await asyncio.to_thread(live_http.get, f"/admin/seats/{seat['id']}/panel", params={"day": day, "shift": "DAWN"})
        assert panel.status_code == 200
        state = re.search(r'data-seat-state="([^"]+)"', panel.text)
        assert state is not None
        assert (state.group(1) == "leased") is held, (day, state.group(1))
