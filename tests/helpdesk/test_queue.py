"""The staff's queue (domain/helpdesk/queue.py): open tickets nearest due first, due-soon and breached
flags correct on read, every filter, keyset pages, one SQL on ix_tickets_queue; and the admin page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI
from playwright.async_api import Page
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.helpdesk.queue import QueueCursor, QueueFilters, ticket_queue
from domain.rules.sla import ClockState
from tests.admin.conftest import login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api, World
from tests.helpdesk.sla_helpers import change, open_ticket, world


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    m: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return m


async def seed(maker: async_sessionmaker[AsyncSession], w: World, now: datetime, assignee: uuid.UUID) -> dict[str, uuid.UUID]:
    """Calendar-time tickets (no seat) at one site, in every state the queue shows."""
    ids = {
        "breached": await open_ticket(maker, w, now - timedelta(minutes=20), subject="breached"),  # urgent: due 15 min
        "due_soon": await open_ticket(maker, w, now - timedelta(minutes=13), subject="due soon"),  # warned at 12 min
        "normal": await open_ticket(maker, w, now, priority="normal", category="network", subject="normal"),
        "low": await open_ticket(maker, w, now - timedelta(hours=1), priority="low", category="it", subject="low"),
        "paused": await open_ticket(maker, w, now - timedelta(minutes=50), priority="high", subject="paused"),
        "resolved": await open_ticket(maker, w, now - timedelta(minutes=30), subject="resolved"),
    }
    await change(
        maker, ids["paused"], now - timedelta(minutes=40), status="acknowledged", responded_at=now - timedelta(minutes=40)
    )
    await change(maker, ids["paused"], now - timedelta(minutes=30), status="waiting_on_client")
    await change(maker, ids["resolved"], now - timedelta(minutes=5), status="resolved", resolved_at=now - timedelta(minutes=5))
    await change(maker, ids["low"], now - timedelta(minutes=59), assignee_id=assignee)
    return ids


async def _user(db: asyncpg.Pool, email: str) -> uuid.UUID:
    found = await db.fetchval("SELECT id FROM users WHERE email = $1 AND client_id IS NULL", email)
    assert isinstance(found, uuid.UUID)
    return found


async def test_the_queue_sorts_by_the_nearest_due_instant_and_flags_as_of_now(
    staff: Api, maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool
) -> None:
    w = await world(staff)
    now = datetime.now(UTC)
    me = await _user(db, await staff_login(db))
    ids = await seed(maker, w, now, me)
    site = uuid.UUID(w.site["id"])
    async with maker() as s:
        page = await ticket_queue(s, QueueFilters(site_id=site), now=now)
        subjects = [r.ticket.subject for r in page.rows]
        # breached (due 5 min ago), due soon (in 2 min), paused (its resolution due at 50+8h-…), normal (4 h), low (23 h)
        assert subjects == ["breached", "due soon", "normal", "paused", "low"]
        by = {r.ticket.subject: r for r in page.rows}
        assert by["breached"].response == ClockState.BREACHED
        assert by["breached"].breached
        assert by["due soon"].response == ClockState.DUE_SOON
        assert by["due soon"].due_soon
        assert by["paused"].resolution == ClockState.PAUSED
        assert not by["paused"].breached
        assert by["normal"].response == ClockState.RUNNING
        assert page.next_cursor is None

        async def subjects_of(**kw: object) -> list[str]:
            got = await ticket_queue(s, QueueFilters(site_id=site, **kw), now=now)  # type: ignore[arg-type]
            return [r.ticket.subject for r in got.rows]

        assert await subjects_of(breached=True) == ["breached"]
        assert await subjects_of(due_soon=True) == ["due soon"]
        assert await subjects_of(status="waiting_on_client") == ["paused"]
        assert await subjects_of(category="network") == ["normal"]
        assert await subjects_of(priority="low") == ["low"]
        assert await subjects_of(assignee_id=me) == ["low"]
        assert await subjects_of(unassigned=True) == ["breached", "due soon", "normal", "paused"]
        # the breach, once marked by the pass, stays a breach whatever "now" the page is read at
        assert await subjects_of(breached=True) == ["breached"]
        # keyset pages of 2 walk the same order, nothing twice, nothing left out
        seen: list[str] = []
        cursor: QueueCursor | None = None
        while True:
            got = await ticket_queue(s, QueueFilters(site_id=site), now=now, after=cursor, limit=2)
            seen += [r.ticket.subject for r in got.rows]
            if got.next_cursor is None:
                break
            cursor = QueueCursor.decode(got.next_cursor.encode())
        assert seen == subjects
    assert ids["resolved"] not in {r.ticket.id for r in page.rows}


async def test_the_queue_is_one_sql_on_its_index(maker: async_sessionmaker[AsyncSession]) -> None:
    """The plan the queue's first page gets with the table large enough for an index to matter
    (seq scans off stands in for 100,000 tickets; the benchmark measures the real thing)."""
    async with maker() as s, s.begin():
        await s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (
            await s.execute(
                text(
                    "EXPLAIN SELECT id FROM tickets WHERE status NOT IN ('resolved', 'closed') "
                    "ORDER BY sla_next_due_at, id LIMIT 51"
                )
            )
        ).scalars()
        assert "ix_tickets_queue" in "\n".join(plan)


async def test_the_queue_page_in_the_browser(
    page: Page, staff: Api, maker: async_sessionmaker[AsyncSession], db: asyncpg.Pool
) -> None:
    w = await world(staff)
    email = await staff_login(db)
    await seed(maker, w, datetime.now(UTC), await _user(db, email))
    await login(page, email)
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.click("nav#side-nav >> text=Help desk")
    await page.wait_for_url(re.compile(r".*/admin/tickets$"))
    await page.select_option("#f-site", w.site["id"])
    await page.click("#queue-filter-btn")
    await page.wait_for_url(re.compile(r".*/admin/tickets\?site="))
    rows = page.locator("#queue-table tbody tr")
    assert await rows.count() == 5
    first = rows.nth(0)
    assert "breached" in await text_of(first)
    assert "overdue" in await text_of(first.locator(".due-rel"))
    assert "due soon" in await text_of(rows.nth(1).locator("td").nth(2))
    assert "paused" in await text_of(rows.nth(3))
    await shot(page, "helpdesk-queue")
    await page.check("#f-mine")
    await page.click("#queue-filter-btn")
    await page.wait_for_url(re.compile(r".*mine=1"))
    assert await rows.count() == 1
    assert "low" in await text_of(rows.nth(0))
    # a bad filter names its field, never a 500
    response = await page.goto(f"/admin/tickets?site={w.site['id']}&priority=asap")
    assert response is not None
    assert response.status == 422
    assert "one of urgent" in await text_of(page.locator("#queue-filters"))
    # the resolved ticket leaves the queue for the "recently resolved" list, and is found by its number
    await page.goto(f"/admin/tickets?site={w.site['id']}")
    done = page.locator("#recently-done tbody tr")
    assert await done.count() == 1
    assert "resolved" in await text_of(done.nth(0))
    number = (await text_of(done.nth(0).locator(".ticket-link"))).strip()
    await page.goto("/admin/tickets")
    await page.fill("#ticket-find input[name=number]", number.lower())
    await page.click("#ticket-find button")
    await page.wait_for_url(re.compile(r".*/admin/tickets/[0-9a-f-]{36}$"))
    assert number in await text_of(page.locator("h1"))
    response = await page.goto("/admin/tickets/find?number=T-999999999")
    assert response is not None
    assert response.status == 404
    assert "no ticket is numbered T-999999999" in await page.content()
