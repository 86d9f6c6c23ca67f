"""Where the leasing use-cases used to live, kept as re-exports for the callers outside the leasing
aggregate's own edges (billing, provisioning, the people and client edges, the worker, a few tests).

New code imports from domain/leasing/ directly: availability, seats, booking, lifecycle,
worker_pass, views, queries, schemas."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.leasing.availability import count_free_seats as count_free_seats
from domain.leasing.availability import free_seats as free_seats
from domain.leasing.availability import free_seats_page_stmt as free_seats_page_stmt
from domain.leasing.availability import free_zones as free_zones
from domain.leasing.availability import search_free_seats as search_free_seats
from domain.leasing.booking import SeatCapExceeded as SeatCapExceeded
from domain.leasing.booking import book_lease as book_lease
from domain.leasing.booking import create_lease as create_lease
from domain.leasing.booking import enforce_seat_cap as enforce_seat_cap
from domain.leasing.lifecycle import add_seats as add_seats
from domain.leasing.lifecycle import approve_lease as approve_lease
from domain.leasing.lifecycle import cancel_lease as cancel_lease
from domain.leasing.lifecycle import end_lease as end_lease
from domain.leasing.lifecycle import release_seat as release_seat
from domain.leasing.lifecycle import set_assignments as set_assignments
from domain.leasing.seats import lock_seats as lock_seats
from domain.leasing.state import LIVE_STATUSES as LIVE_STATUSES
from domain.leasing.state import get_lease as get_lease
from domain.leasing.views import lease_filter as lease_filter
from domain.leasing.views import lease_views as lease_views
from domain.leasing.worker_pass import advance_lease_states as advance_lease_states


async def notify_leases_changed(session: AsyncSession) -> None:
    """Wake the provisioning reconciler. The leasing use-cases do it themselves; kept for the edges
    outside leasing that still call it (service/admin/people.py, service/api/clients.py,
    service/api/provisioning.py) until their own use-cases do."""
    await events.leases_changed(session)
