"""The SLA clock counts the hours the ticket's seat is leased, in the site's time zone: across
midnight, in Manila (UTC+8) and Austin (DST), a NIGHT seat vs a DAY seat at 02:00, paused while
waiting on the client, re-timed by a priority change. Factories' shifts: DAY 06:00-15:00, NIGHT
21:00-06:00. Default targets (migration 0038): urgent 15 min / 4 h, high 1 h / 8 h, normal 4 h / 24 h."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Api
from tests.helpdesk.sla_helpers import at, change, leased_seat, load, open_ticket, world

MANILA = "Asia/Manila"
AUSTIN = "America/Chicago"


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    m: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return m


async def test_a_night_seats_outage_at_two_counts_and_a_day_seats_waits_for_its_shift(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(staff)
    night, day = await leased_seat(staff, w, "NIGHT"), await leased_seat(staff, w, "DAY", seat=1)
    two = at(MANILA, 2031, 1, 10, 2)
    n = await load(maker, await open_ticket(maker, w, two, seat_id=night))
    d = await load(maker, await open_ticket(maker, w, two, seat_id=day))
    # NIGHT: the clock runs at 02:00, and 02:00-06:00 is exactly the 4 h
    assert n.response_due_at == at(MANILA, 2031, 1, 10, 2, 15)
    assert n.resolution_due_at == at(MANILA, 2031, 1, 10, 6)
    # DAY: nothing counts until 06:00
    assert d.response_due_at == at(MANILA, 2031, 1, 10, 6, 15)
    assert d.resolution_due_at == at(MANILA, 2031, 1, 10, 10)
    # due soon from the last 20 %: 12 of the 15 minutes, 3 h 12 of the 4 h
    assert d.response_warn_at == at(MANILA, 2031, 1, 10, 6, 12)
    assert d.resolution_warn_at == at(MANILA, 2031, 1, 10, 9, 12)


async def test_the_clock_runs_across_midnight_and_stops_at_the_end_of_the_night(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(staff)
    night = await leased_seat(staff, w, "NIGHT")
    t = await load(maker, await open_ticket(maker, w, at(MANILA, 2031, 1, 10, 23), seat_id=night))
    assert t.resolution_due_at == at(MANILA, 2031, 1, 11, 3)  # 23:00 + 4 h across midnight
    # at 04:00 only 2 h of the night are left: a high ticket (8 h) goes on the next night from 21:00
    t = await load(maker, await open_ticket(maker, w, at(MANILA, 2031, 1, 11, 4), seat_id=night, priority="high"))
    assert t.resolution_due_at == at(MANILA, 2031, 1, 12, 3)  # 2 h + 21:00..03:00 (6 h)


async def test_the_same_wall_clock_in_manila_and_in_austin_across_the_spring_forward_night(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    # Austin springs forward at 02:00 on Sunday 9 March 2031: that NIGHT shift lasts 8 h, not 9
    manila, austin = await world(staff, MANILA), await world(staff, AUSTIN)
    m_seat, a_seat = await leased_seat(staff, manila, "NIGHT"), await leased_seat(staff, austin, "NIGHT")
    m = await load(maker, await open_ticket(maker, manila, at(MANILA, 2031, 3, 8, 21), seat_id=m_seat, priority="normal"))
    a = await load(maker, await open_ticket(maker, austin, at(AUSTIN, 2031, 3, 8, 21), seat_id=a_seat, priority="normal"))
    # 24 h of SLA time: Manila 9 + 9 + 6 -> 03:00 on the 11th; Austin 8 + 9 + 7 -> 04:00 on the 11th
    assert m.resolution_due_at == at(MANILA, 2031, 3, 11, 3)
    assert a.resolution_due_at == at(AUSTIN, 2031, 3, 11, 4)
    assert a.resolution_due_at is not None
    assert a.resolution_due_at.astimezone(UTC) == at(AUSTIN, 2031, 3, 11, 4).astimezone(UTC)
    assert at(AUSTIN, 2031, 3, 11, 4).utcoffset() == timedelta(hours=-5)  # CDT: the instant is 09:00 UTC


async def test_waiting_on_the_client_stops_the_clock_and_resuming_moves_the_due_instants_on(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(staff)
    day = await leased_seat(staff, w, "DAY")
    tid = await open_ticket(maker, w, at(MANILA, 2031, 1, 10, 8), seat_id=day, priority="high")
    t = await load(maker, tid)
    # 8 h: 7 h today (08-15), 1 h tomorrow (06-07)
    assert t.resolution_due_at == at(MANILA, 2031, 1, 11, 7)
    t = await change(maker, tid, at(MANILA, 2031, 1, 10, 9), status="acknowledged", responded_at=at(MANILA, 2031, 1, 10, 9))
    t = await change(maker, tid, at(MANILA, 2031, 1, 10, 14), status="waiting_on_client")
    assert t.sla_paused_at == at(MANILA, 2031, 1, 10, 14)
    assert t.resolution_due_at == at(MANILA, 2031, 1, 11, 7)  # stands still while paused
    # the client answers at 07:00 next morning: 1 h (14-15) + 1 h (06-07) of SLA time passed in the pause
    t = await change(maker, tid, at(MANILA, 2031, 1, 11, 7), status="in_progress")
    assert t.sla_paused_at is None
    assert t.sla_paused_seconds == 2 * 3600
    assert t.resolution_due_at == at(MANILA, 2031, 1, 11, 9)
    assert t.response_due_at == at(MANILA, 2031, 1, 10, 9)  # the answered clock is not moved


async def test_a_priority_change_midway_re_times_the_ticket_from_its_start(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(staff)
    start = at(MANILA, 2031, 1, 10, 12)
    tid = await open_ticket(maker, w, start, priority="normal")  # no seat: every hour of the calendar
    t = await load(maker, tid)
    assert (t.response_due_at, t.resolution_due_at) == (start + timedelta(hours=4), start + timedelta(hours=24))
    t = await change(maker, tid, start + timedelta(hours=1), priority="urgent")
    # urgent from the start: 15 min (already past: breached as of its due instant) and 4 h
    assert t.resolution_due_at == start + timedelta(hours=4)
    assert t.response_due_at == start + timedelta(minutes=15)
    t = await change(maker, tid, start + timedelta(hours=2), priority="low", category="facility")
    assert t.resolution_due_at == start + timedelta(days=5)


async def test_a_ticket_answered_or_resolved_late_is_breached_as_of_its_due_instant(
    staff: Api, maker: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(staff)
    start = at(MANILA, 2031, 1, 10, 12)
    tid = await open_ticket(maker, w, start)
    late = start + timedelta(minutes=30)
    t = await change(maker, tid, late, status="acknowledged", responded_at=late)
    assert t.response_breached_at == start + timedelta(minutes=15)
    assert t.resolution_breached_at is None
    t = await change(maker, tid, start + timedelta(hours=3), status="resolved", resolved_at=start + timedelta(hours=3))
    assert t.resolution_breached_at is None
    assert t.sla_paused_at == start + timedelta(hours=3)  # resolved: the clock stands still until reopened
    t = await change(maker, tid, start + timedelta(hours=10), status="in_progress", resolved_at=None)
    assert t.resolution_due_at == start + timedelta(hours=11)  # the 7 h resolved do not count
