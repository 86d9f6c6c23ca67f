"""Tickets for the SLA tests, written through the models (the ticket use-cases are the tickets
helper's), with the clock set by `domain/helpdesk/sla.py on_change` at the instants a test names."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.helpdesk.sla import on_change
from domain.models import Ticket
from tests.factories import Api, World, lease_body, make_world


def at(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone))


async def leased_seat(staff: Api, w: World, shift: str, start: str = "2031-01-01", *, seat: int = 0) -> str:
    """The world's seat number `seat` leased for `shift` (a DAY and a NIGHT lease would otherwise
    share the first seat, and a seat leased by both counts both)."""
    body = lease_body(w, shift=shift, start_date=start, seat_ids=[w.seats[seat]["id"]])
    body.pop("seat_count")
    lease = await staff.post("/v1/leases", body)
    assert lease["status"] == "confirmed", lease
    return str(lease["seats"][0]["id"])


async def world(staff: Api, timezone: str = "Asia/Manila") -> World:
    return await make_world(staff, timezone=timezone, zones=1, seats_per_zone=4)


async def open_ticket(
    maker: async_sessionmaker[AsyncSession], w: World, now: datetime, *, seat_id: str | None = None, **kw: Any
) -> uuid.UUID:
    async with maker() as s, s.begin():
        t = Ticket(
            site_id=uuid.UUID(w.site["id"]),
            client_id=uuid.UUID(w.client["id"]),
            seat_id=uuid.UUID(seat_id) if seat_id else None,
            category=kw.pop("category", "power"),
            priority=kw.pop("priority", "urgent"),
            status="new",
            subject=kw.pop("subject", "No power on the seat"),
            raised_by="test@example.com",
            raised_via="admin",
            occurred_at=now,
            created_at=now,
            updated_at=now,
            **kw,
        )
        s.add(t)
        await s.flush()
        await on_change(s, t, None, now)
        return t.id


async def change(maker: async_sessionmaker[AsyncSession], ticket_id: uuid.UUID, now: datetime, **fields: Any) -> Ticket:
    """What a ticket use-case does: change the fields, then call the SLA hook."""
    async with maker() as s, s.begin():
        t = await s.get(Ticket, ticket_id)
        assert t is not None
        old = t.status
        for k, v in fields.items():
            setattr(t, k, v)
        await on_change(s, t, old, now)
    return await load(maker, ticket_id)


async def load(maker: async_sessionmaker[AsyncSession], ticket_id: uuid.UUID) -> Ticket:
    async with maker() as s:
        t = await s.get(Ticket, ticket_id)
        assert t is not None
        return t
