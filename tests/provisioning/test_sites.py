"""One bad record never stops work for everyone: a site's time zone is a real IANA zone (checked
once, in the domain), and a site whose stored time zone is bad (old data) is skipped and reported by
the lease-state and desired-state passes while every other site goes on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.reconciler import Reconciler
from service.worker import lease_transitions
from service.worker import run_forever as service_run_forever
from tests.factories import Api, World, lease_body, make_world, uniq
from tests.provisioning.helpers import seated_lease, until
from tests.provisioning.servers import FlakyScim

BAD_TZ = "Mars/Olympus_Mons"


@pytest.mark.parametrize("tz", ["posix/Asia/Manila", "right/UTC", "localtime", "posixrules", "Factory", BAD_TZ])
async def test_a_site_time_zone_is_a_real_iana_zone(staff: Api, db: asyncpg.Pool, tz: str) -> None:
    body = {"code": uniq("TZ"), "name": "Site", "timezone": tz, "currency": "PHP", "tax_rate": "0.12"}
    r = await staff.call("POST", "/v1/sites", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "timezone"
    assert await db.fetchval("SELECT count(*) FROM sites WHERE code = $1", body["code"]) == 0

    site = await staff.post("/v1/sites", {**body, "timezone": "Asia/Manila"})
    r = await staff.call("PATCH", f"/v1/sites/{site['id']}", json={"timezone": tz})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "timezone"
    assert (await staff.get(f"/v1/sites/{site['id']}"))["timezone"] == "Asia/Manila", "changes nothing"
    patched = await staff.call("PATCH", f"/v1/sites/{site['id']}", 200, json={"timezone": "America/Chicago"})
    assert patched.json()["timezone"] == "America/Chicago"


def _today(tz: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(tz)).date()


async def _moved(staff: Api, db: asyncpg.Pool, w: World, status: str, start: date, end: date | None) -> str:
    """A lease booked far ahead, then moved to the dates under test (time passing, in SQL)."""
    taken = {
        r["seat_id"]
        for r in await db.fetch(
            "SELECT ls.seat_id FROM lease_seats ls JOIN leases l ON l.id = ls.lease_id WHERE l.site_id = $1",
            uuid.UUID(w.site["id"]),
        )
    }
    seat = next(s["id"] for s in w.seats if uuid.UUID(s["id"]) not in taken)
    body = lease_body(w, seat_ids=[seat], start_date="2035-01-01")
    body.pop("seat_count")
    lid = uuid.UUID((await staff.post("/v1/leases", body))["id"])
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE lease_seats SET start_date = $2, end_date = $3 WHERE lease_id = $1", lid, start, end)
        await conn.execute("UPDATE leases SET start_date = $2, end_date = $3, status = $4 WHERE id = $1", lid, start, end, status)
    return str(lid)


async def _status(db: asyncpg.Pool, lease_id: str) -> str:
    return str(await db.fetchval("SELECT status FROM leases WHERE id = $1", uuid.UUID(lease_id)))


async def test_a_site_with_a_bad_time_zone_is_skipped_and_reported(
    staff: Api,
    http: httpx.AsyncClient,
    db: asyncpg.Pool,
    app: FastAPI,
    maker: async_sessionmaker[AsyncSession],
    scim: tuple[FlakyScim, str],
    reconcilers: Callable[..., Reconciler],
) -> None:
    _, scim_url = scim
    good, bad = await make_world(staff), await make_world(staff)
    tz = good.site["timezone"]
    today = _today(tz)
    seated = {"good": await seated_lease(staff, good, seats=2), "bad": await seated_lease(staff, bad, seats=2)}
    due = {
        name: (
            await _moved(staff, db, w, "confirmed", today, None),
            await _moved(staff, db, w, "active", today - timedelta(days=9), today - timedelta(days=1)),
        )
        for name, w in (("good", good), ("bad", bad))
    }
    # old data: a time zone stored before time zones were validated
    await db.execute("UPDATE sites SET timezone = $2 WHERE id = $1", uuid.UUID(bad.site["id"]), BAD_TZ)
    try:
        out = await lease_transitions(app.state.sessionmaker, app.state.settings)
        assert [await _status(db, lid) for lid in due["good"]] == ["active", "ended"], "the good site moves on"
        assert [await _status(db, lid) for lid in due["bad"]] == ["confirmed", "active"], "the bad one is rolled back"
        failed = [f for f in out["sites_failed"] if f["site_id"] == bad.site["id"]]
        assert failed
        assert failed[0]["pass"] == "lease_states"
        assert failed[0]["code"] == bad.site["code"]
        assert "time zone" in failed[0]["error"]
        assert all(f["site_id"] != good.site["id"] for f in out["sites_failed"])

        rec = reconcilers(badge_webhook_url=None, radius_database_url=None)
        derived = await rec.run_once(sweep=False)
        assert bad.site["id"] in {f["site_id"] for f in derived["derive"]["sites_failed"]}

        async def good_granted() -> bool:
            rows = await db.fetch("SELECT state FROM credentials WHERE lease_id = $1", uuid.UUID(seated["good"]["id"]))
            return len(rows) == 2 and all(r["state"] == "active" for r in rows)

        await until(rec, good_granted)
        assert await db.fetchval("SELECT count(*) FROM credentials WHERE lease_id = $1", uuid.UUID(seated["bad"]["id"])) == 0
        # revocations converge on the good site too
        await staff.post(
            f"/v1/leases/{seated['good']['id']}/end", {"end_date": (today - timedelta(days=1)).isoformat()}, expect=200
        )

        async def good_revoked() -> bool:
            rows = await db.fetch("SELECT disabled_at FROM credentials WHERE lease_id = $1", uuid.UUID(seated["good"]["id"]))
            return all(r["disabled_at"] is not None for r in rows)

        await until(rec, good_revoked)
        async with httpx.AsyncClient() as c:
            for r in await db.fetch("SELECT external_id FROM credentials WHERE lease_id = $1", uuid.UUID(seated["good"]["id"])):
                assert (await c.get(f"{scim_url}/Users/{r['external_id']}")).json()["active"] is False

        # reported where operators look: the worker's passes name the site in /healthz and /metrics
        settings = app.state.settings.model_copy(
            update={
                "scim_base_url": scim_url,
                "radius_database_url": None,
                "badge_webhook_url": None,
                "worker_interval_seconds": 3600.0,
            }
        )
        stop = asyncio.Event()
        task = asyncio.create_task(service_run_forever(maker, settings, stop))
        try:
            started = time.monotonic()
            while True:
                body: dict[str, Any] = (await http.get("/healthz")).json()
                passes = {f["pass"] for f in body.get("sites_failing", []) if f["site_id"] == bad.site["id"]}
                if passes == {"lease_states", "desired_state"}:
                    break
                assert time.monotonic() - started < 20, body
                await asyncio.sleep(0.2)
            assert body["status"] == "degraded"
            metrics = (await staff.call("GET", "/metrics", 200)).text
            assert 'seatlease_sites_failing{pass_name="lease_states"} 1.0' in metrics
            assert 'seatlease_sites_failing{pass_name="desired_state"} 1.0' in metrics
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=15)
    finally:
        await db.execute("UPDATE sites SET timezone = $2 WHERE id = $1", uuid.UUID(bad.site["id"]), tz)
        await lease_transitions(app.state.sessionmaker, app.state.settings)
        await staff.post(
            f"/v1/leases/{seated['bad']['id']}/end", {"end_date": (today - timedelta(days=1)).isoformat()}, expect=200
        )
