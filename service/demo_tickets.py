"""The demo's help desk: a few tickets at every step of the workflow, so the queue, a ticket's page, the
SLA clocks and the KPIs show something on the first start. Raised through the ticket use-cases, like any."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.helpdesk import comments, tickets
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.schemas import TicketCreate
from domain.leasing import views
from domain.models import Lease, TicketCategory, TicketPriority
from domain.services.audit import SystemActor
from domain.services.first_start import DEMO_ACTOR


class DemoDesk(SystemActor):
    """The demo's facility desk (a system actor: it may do what staff do)."""

    role = "system"
    client_id = None

    def __init__(self) -> None:
        super().__init__(DEMO_ACTOR)


async def seed_demo_tickets(session: AsyncSession, leases: list[Lease]) -> int:
    """Tickets on the seats of the first client's night team and of the second client's first team (the
    client the demo's portal login belongs to: a ticket waiting on it, and a resolved outage)."""
    if len(leases) < 3:
        return 0
    desk, config = DemoDesk(), TicketConfig()
    now = datetime.now(UTC)
    night, other = leases[1], leases[2]
    night_seats = (await views.lease_views(session, [night]))[0].seats
    other_seats = (await views.lease_views(session, [other]))[0].seats
    if len(night_seats) < 2 or len(other_seats) < 2:
        return 0

    async def raise_(
        lease: Lease, seat_id: uuid.UUID | None, category: str, priority: str, subject: str, ago: timedelta, text: str
    ) -> uuid.UUID:
        t = await tickets.raise_ticket(
            session,
            desk,
            TicketCreate.model_validate(
                {
                    # no seat: the facility's own ticket at the lease's site
                    "client_id": lease.client_id if seat_id else None,
                    "lease_id": lease.id if seat_id else None,
                    "site_id": None if seat_id else lease.site_id,
                    "seat_id": seat_id,
                    "category": category,
                    "priority": priority,
                    "subject": subject,
                    "description": text,
                    "occurred_at": now - ago,
                }
            ),
            via="system",
            now=now - ago,
        )
        return t.id

    made = 0
    # new, nobody has answered yet
    await raise_(
        night,
        night_seats[0].id,
        TicketCategory.DEVICE,
        TicketPriority.NORMAL,
        "Headset crackles",
        timedelta(minutes=25),
        "The agent hears crackling on the left ear since the start of the shift.",
    )
    made += 1
    # an outage being worked on, with a staff-only note
    t = await raise_(
        night,
        night_seats[1].id,
        TicketCategory.NETWORK,
        TicketPriority.URGENT,
        "No network on the seat",
        timedelta(hours=1),
        "The softphone cannot register; the PC shows no network.",
    )
    await tickets.change_status(session, desk, t, "acknowledged", config=config, now=now - timedelta(minutes=50))
    await tickets.change_status(session, desk, t, "in_progress", config=config, now=now - timedelta(minutes=40))
    await comments.add_comment(
        session, desk, t, "Patch panel port 2-14 dead; moving the cable.", internal=True, now=now - timedelta(minutes=30)
    )
    made += 1
    # waiting on the client
    t = await raise_(
        other,
        other_seats[1].id,
        TicketCategory.ACCESS,
        TicketPriority.HIGH,
        "Badge does not open the floor door",
        timedelta(hours=5),
        "New agent's badge is refused at the lift lobby.",
    )
    await tickets.change_status(session, desk, t, "in_progress", config=config, now=now - timedelta(hours=4))
    await comments.add_comment(
        session, desk, t, "Which employee ID does the agent have? The badge on file is for another.", now=now - timedelta(hours=4)
    )
    await tickets.change_status(session, desk, t, "waiting_on_client", config=config, now=now - timedelta(hours=4))
    made += 1
    # a power outage, resolved yesterday: the worker proposes its downtime credit
    t = await raise_(
        other,
        other_seats[0].id,
        TicketCategory.POWER,
        TicketPriority.URGENT,
        "Power out on the row",
        timedelta(days=1, hours=3),
        "The desk's sockets are dead; the UPS is beeping.",
    )
    await tickets.change_status(session, desk, t, "in_progress", config=config, now=now - timedelta(days=1, hours=2, minutes=50))
    await tickets.change_status(
        session,
        desk,
        t,
        "resolved",
        config=config,
        resolution="Tripped breaker on the row's panel reset; circuit load checked.",
        now=now - timedelta(days=1, hours=1),
    )
    made += 1
    # the facility's own, nobody's seat
    t = await raise_(
        night,
        None,
        TicketCategory.FACILITY,
        TicketPriority.HIGH,
        "Aircon dripping by the pantry",
        timedelta(hours=2),
        "Water on the floor next to the pantry; a wet-floor sign is up.",
    )
    await tickets.change_status(session, desk, t, "acknowledged", config=config, now=now - timedelta(hours=1, minutes=45))
    made += 1
    return made
