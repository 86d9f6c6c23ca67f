"""The leasing use-cases live in domain/leasing/ (availability, seats, booking, lifecycle,
worker_pass, views, queries, floor_map, schemas). This module keeps one name for the edges outside
leasing that still wake the reconciler themselves; it imports nothing from domain/leasing, which
itself builds on domain/services."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain import events


async def notify_leases_changed(session: AsyncSession) -> None:
    """Wake the provisioning reconciler. The leasing use-cases do it themselves; kept for
    service/admin/people.py and service/api/clients.py until their own use-cases do."""
    await events.leases_changed(session)
