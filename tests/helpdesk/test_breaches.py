"""The breach pass (service/worker.py `sla_breaches`): a clock past its due instant is marked as of
that instant and staff are told once: the assignee, else every facility staff login; the pass run
twice, or by two workers at once, tells nobody twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.helpdesk.breaches import mark_breaches
from service.worker import jobs, sla_breaches
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api
from tests.helpdesk.sla_helpers import change, load, open_ticket, world


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    m: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return m


async def _mails(db: asyncpg.Pool, ticket_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT to_addrs, subject, dedupe_key FROM email_outbox"
        " WHERE object_id = $1 AND topic = 'ticket.sla_breach' ORDER BY subject",
        ticket_id,
    )


async def test_a_breach_is_marked_once_and_told_once(
    app: FastAPI, staff: Api, maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool
) -> None:
    assert sla_breaches in jobs()
    w = await world(staff)
    now = datetime.now(UTC)
    assignee_email = await staff_login(db)
    assignee = await db.fetchval("SELECT id FROM users WHERE email = $1", assignee_email)
    assigned = await open_ticket(maker, w, now - timedelta(hours=5))  # urgent: 15 min and 4 h both past
    unassigned = await open_ticket(maker, w, now - timedelta(minutes=20))  # only the response is past
    running = await open_ticket(maker, w, now - timedelta(minutes=5))
    paused = await open_ticket(maker, w, now - timedelta(hours=5))
    await change(maker, assigned, now - timedelta(hours=5), assignee_id=assignee)
    await change(maker, paused, now - timedelta(hours=5), status="waiting_on_client")

    await sla_breaches(maker, app.state.settings)
    await sla_breaches(maker, app.state.settings)  # twice: nothing more

    t = await load(maker, assigned)
    assert t.response_breached_at == t.response_due_at == now - timedelta(hours=5) + timedelta(minutes=15)
    assert t.resolution_breached_at == t.resolution_due_at
    mails = await _mails(db, assigned)
    assert [m["to_addrs"] for m in mails] == [[assignee_email], [assignee_email]]
    assert "resolution" in mails[0]["subject"]
    assert "response" in mails[1]["subject"]

    u = await load(maker, unassigned)
    assert u.response_breached_at is not None
    assert u.resolution_breached_at is None
    (mail,) = await _mails(db, unassigned)
    facility = {r["email"] for r in await db.fetch("SELECT email FROM users WHERE role = 'facility_staff' AND active")}
    assert set(mail["to_addrs"]) == facility
    events = await db.fetch("SELECT kind, public, data FROM ticket_events WHERE ticket_id = $1", unassigned)
    assert [(e["kind"], e["public"]) for e in events] == [("sla_breached", False)]

    assert (await load(maker, running)).response_breached_at is None
    assert await _mails(db, running) == []
    assert (await load(maker, paused)).response_breached_at is None  # the clock stands still
    assert await _mails(db, paused) == []


async def test_two_workers_at_once_tell_staff_once(staff: Api, maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool) -> None:
    w = await world(staff)
    now = datetime.now(UTC)
    ids = [await open_ticket(maker, w, now - timedelta(minutes=30), subject=f"t{i}") for i in range(6)]

    async def one_worker() -> dict[str, int]:
        async with maker() as s, s.begin():
            return await mark_breaches(s, now)

    results = await asyncio.gather(*(one_worker() for _ in range(4)))
    assert sum(r["response_breaches"] for r in results) >= 6
    for tid in ids:
        assert len(await _mails(db, tid)) == 1
        count = await db.fetchval("SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND kind = 'sla_breached'", tid)
        assert count == 1
