"""The worker's daily pass renews the leases set to auto-renew on their term end date, for the same
term, exactly once however many workers run it at the same time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from domain.leasing.worker_pass import renew_due_leases
from domain.rules.renewal import same_term_end
from domain.services.audit import SystemActor
from service.worker import lease_renewals, lease_transitions
from tests.factories import Api, World, lease_body, make_world

ONE = timedelta(days=1)


def _today(tz: str = "Asia/Manila") -> date:
    return datetime.now(ZoneInfo(tz)).date()


async def _auto_lease(staff: Api, w: World, seat: dict[str, Any], term_end: date) -> str:
    """A one-year fixed-term lease on one seat, ending on `term_end`, set to renew automatically."""
    body = lease_body(w, start_date=(term_end - 364 * ONE).isoformat(), end_date=term_end.isoformat(), seat_ids=[seat["id"]])
    body.pop("seat_count")
    lease = await staff.post("/v1/leases", body)
    await staff.call("PUT", f"/v1/leases/{lease['id']}/renewal", 200, json={"renewal_mode": "auto"})
    return str(lease["id"])


async def _renewals(db: asyncpg.Pool, lease_id: str) -> list[Any]:
    return list(
        await db.fetch(
            "SELECT effective_date, details FROM lease_amendments WHERE lease_id = $1 AND kind = 'renewed'", uuid.UUID(lease_id)
        )
    )


async def _actions(db: asyncpg.Pool, lease_id: str) -> list[str]:
    rows = await db.fetch("SELECT action FROM audit_events WHERE object_id = $1 AND actor = 'worker' ORDER BY id", lease_id)
    return [r["action"] for r in rows]


async def test_the_pass_renews_on_the_term_end_for_the_same_term(staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    w = await make_world(staff)
    today = _today()
    due = await _auto_lease(staff, w, w.seats[0], today)
    tomorrow = await _auto_lease(staff, w, w.seats[1], today + ONE)
    manual = await _auto_lease(staff, w, w.seats[2], today)
    await staff.call("PUT", f"/v1/leases/{manual}/renewal", 200, json={"renewal_mode": "manual"})

    await lease_renewals(app.state.sessionmaker, app.state.settings)
    renewed = await staff.get(f"/v1/leases/{due}")
    assert renewed["term_start_date"] == (today + ONE).isoformat()
    # the same term again (tests/rules/test_renewal_terms.py proves same_term_end against an oracle)
    assert renewed["term_end_date"] == renewed["end_date"] == same_term_end(today - 364 * ONE, today).isoformat()
    assert {p["end_date"] for p in renewed["seat_periods"]} == {renewed["end_date"]}
    assert renewed["status"] == "active"
    assert renewed["renewal_mode"] == "auto"  # and renews again at the next term end
    assert (await staff.get(f"/v1/leases/{tomorrow}"))["end_date"] == (today + ONE).isoformat()
    assert (await staff.get(f"/v1/leases/{manual}"))["end_date"] == today.isoformat()
    assert await _actions(db, due) == ["lease.auto_renew"]
    (amendment,) = await _renewals(db, due)
    assert '"automatic": true' in amendment["details"]

    # the lease-state pass does not end it, and a second pass renews nothing again
    await lease_transitions(app.state.sessionmaker, app.state.settings)
    await lease_renewals(app.state.sessionmaker, app.state.settings)
    assert len(await _renewals(db, due)) == 1
    assert (await staff.get(f"/v1/leases/{due}"))["status"] == "active"


async def test_two_workers_renew_each_lease_exactly_once(staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    w = await make_world(staff)
    today = _today()
    leases = [await _auto_lease(staff, w, seat, today) for seat in w.seats[:8]]
    ends = {lid: (await staff.get(f"/v1/leases/{lid}"))["end_date"] for lid in leases}
    assert set(ends.values()) == {today.isoformat()}

    # one worker's pass holds its leases (not committed yet) while another worker's pass runs: the
    # second skips them instead of renewing them too, or waiting
    maker = app.state.sessionmaker
    async with maker() as first, first.begin():
        await renew_due_leases(first, SystemActor("worker"))
        second = await asyncio.wait_for(lease_renewals(maker, app.state.settings), timeout=30)
        assert second["sites_failed"] == []
        for lid in leases:
            assert await _renewals(db, lid) == []  # not committed yet, and not renewed by the second
    for lid in leases:
        assert len(await _renewals(db, lid)) == 1

    # and passes racing each other from the start, on leases due now
    more = [await _auto_lease(staff, w, seat, today) for seat in w.seats[8:16]]
    results = await asyncio.gather(*(lease_renewals(maker, app.state.settings) for _ in range(4)))
    assert all(r["sites_failed"] == [] for r in results)
    for lid in leases + more:
        assert len(await _renewals(db, lid)) == 1, lid
        assert await _actions(db, lid) == ["lease.auto_renew"]
        lease = await staff.get(f"/v1/leases/{lid}")
        assert lease["term_start_date"] == (today + ONE).isoformat()
        assert [p["end_date"] for p in lease["seat_periods"]] == [lease["end_date"]]  # one seat, extended once


async def test_a_lease_whose_seat_is_taken_after_its_term_is_not_renewed(staff: Api, db: asyncpg.Pool, app: FastAPI) -> None:
    w = await make_world(staff)
    today = _today()
    lid = await _auto_lease(staff, w, w.seats[0], today)
    taker = lease_body(w, start_date=(today + ONE).isoformat(), seat_ids=[w.seats[0]["id"]])
    taker.pop("seat_count")
    await staff.post("/v1/leases", taker)

    await lease_renewals(app.state.sessionmaker, app.state.settings)
    lease = await staff.get(f"/v1/leases/{lid}")
    assert (lease["end_date"], lease["renewal_mode"]) == (today.isoformat(), "manual")
    assert await _renewals(db, lid) == []
    assert await _actions(db, lid) == ["lease.auto_renew_failed"]
    await lease_renewals(app.state.sessionmaker, app.state.settings)  # not retried on every pass
    assert await _actions(db, lid) == ["lease.auto_renew_failed"]
