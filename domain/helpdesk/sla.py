"""The SLA clock of a ticket: its response and resolution due instants, paused while waiting on the client.

The ticket use-cases (domain/helpdesk/tickets.py) call `on_change` after a ticket is opened and after
every change of its status, priority or category, in the same transaction; it is the only writer of
the ticket's SLA columns (`response_due_at`, `resolution_due_at`, `sla_paused_at`, `*_breached_at`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Ticket


async def on_change(session: AsyncSession, ticket: Ticket, old_status: str | None, now: datetime) -> None:
    """Set or move the ticket's due instants after a change (`old_status` None: just opened)."""
    return None
