"""Helpers of the provisioning tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from provisioning.reconciler import Reconciler
from tests.factories import Api, World, lease_body


def site_today(tz: str = "Asia/Manila") -> date:
    return datetime.now(ZoneInfo(tz)).date()


async def seated_lease(staff: Api, w: World, seats: int = 3, **kw: Any) -> dict[str, Any]:
    """An active lease that started ten days ago with a member at each seat."""
    start = (site_today() - timedelta(days=10)).isoformat()
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=seats, start_date=start, **kw))
    assert lease["status"] == "active"
    pairs = [{"seat_id": s["id"], "member_id": m["id"]} for s, m in zip(lease["seats"], w.members, strict=False)]
    r = await staff.call("PUT", f"/v1/leases/{lease['id']}/assignments", 200, json=pairs)
    assert len(r.json()) == len(pairs)
    return lease


async def until(rec: Reconciler, check: Callable[[], Any], *, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - see below
    """Run reconciler passes until `check()` (sync or async) is true."""
    # the deadline is checked between passes, so no pass is cancelled half-way (as asyncio.timeout
    # would do), and the failure says what did not converge
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await rec.run_once(sweep=False)
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("did not converge in time")
        await asyncio.sleep(0.1)
