"""A night shift's last morning is still the lease's (PRODUCT.md rule 1, the one rule ``seat_held``):
ended as of yesterday, a NIGHT lease keeps its agents' logins and badges until that morning's day is
over, while a DAY lease ended the same day loses them at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.leasing.worker_pass import advance_lease_states
from domain.services.audit import SystemActor
from provisioning.reconciler import Reconciler
from tests.factories import Api, make_world
from tests.provisioning.helpers import seated_lease, site_today, until


async def test_a_night_lease_keeps_its_credentials_through_its_last_morning(
    staff: Api, reconcilers: Callable[..., Reconciler], maker: async_sessionmaker[AsyncSession]
) -> None:
    rec = reconcilers()
    w = await make_world(staff, zones=1, seats_per_zone=6)
    night = await seated_lease(staff, w, seats=2, shift="NIGHT")
    day = await seated_lease(staff, w, seats=2, shift="DAY")

    async def creds(lease_id: str) -> list[dict]:
        return (await staff.get(f"/v1/leases/{lease_id}/credentials"))["items"]

    async def all_active() -> bool:
        items = [c for lid in (night["id"], day["id"]) for c in await creds(lid)]
        return len(items) == 4 * len(rec.providers) and all(c["state"] == "active" for c in items)

    await until(rec, all_active)

    today = site_today()
    yesterday = (today - timedelta(days=1)).isoformat()
    ended_day = await staff.post(f"/v1/leases/{day['id']}/end", {"end_date": yesterday}, expect=200)
    ended_night = await staff.post(f"/v1/leases/{night['id']}/end", {"end_date": yesterday}, expect=200)
    assert ended_day["status"] == "ended"
    # its last shift began last evening and ends this morning: the lease still holds its seats today
    assert ended_night["status"] == "active"
    assert ended_night["end_date"] == yesterday

    async def day_revoked() -> bool:
        return all(not c["desired"] for c in await creds(day["id"]))

    await until(rec, day_revoked)
    async with maker() as session, session.begin():
        moved = await advance_lease_states(session, SystemActor("test"))
    assert moved["ended"] == 0  # the worker's pass reads the same rule
    assert (await staff.get(f"/v1/leases/{night['id']}"))["status"] == "active"

    items = await creds(night["id"])
    assert items
    assert all(c["desired"] and c["state"] == "active" for c in items)
    # a badge opens the doors until the end of the last day the seat is held (today, its last morning)
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), ZoneInfo("Asia/Manila"))
    badges = [c for c in items if c["kind"] == "badge"]
    assert badges
    for c in badges:
        assert datetime.fromisoformat(c["valid_until"]) == end_of_today
