"""Helpers of the help desk's device and credit tests: tickets made through the models (the ticket
use-cases are another part's), devices placed by the real provisioning pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import Ticket


async def make_ticket(
    maker: async_sessionmaker[AsyncSession],
    *,
    site_id: str,
    seat_id: str | None = None,
    device_id: str | None = None,
    lease_id: str | None = None,
    client_id: str | None = None,
    category: str = "device",
    status: str = "new",
    occurred_at: datetime | None = None,
    resolved_at: datetime | None = None,
    **kw: Any,
) -> str:
    def uid(v: str | None) -> uuid.UUID | None:
        return uuid.UUID(v) if v else None

    async with maker() as session, session.begin():
        t = Ticket(
            site_id=uuid.UUID(site_id),
            seat_id=uid(seat_id),
            device_id=uid(device_id),
            lease_id=uid(lease_id),
            client_id=uid(client_id),
            category=category,
            priority=kw.pop("priority", "normal"),
            status=status,
            subject=kw.pop("subject", "Headset crackles"),
            raised_by="tests",
            raised_via="admin",
            occurred_at=occurred_at or datetime.now(UTC),
            resolved_at=resolved_at,
            **kw,
        )
        session.add(t)
        await session.flush()
        return str(t.id)
