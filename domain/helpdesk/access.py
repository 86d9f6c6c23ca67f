"""Who may see and change which ticket, and fetching one under that rule.

A client's login or machine client sees only its own client's tickets (another's is 404, as if it did
not exist), never an internal note, internal attachment or internal event. Staff see every ticket;
admin and facility_staff work them, finance only reads.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, NotFound
from domain.helpdesk.schemas import Requester
from domain.models.ticket import Ticket
from domain.models.user import Role

TICKET_STAFF: tuple[str, ...] = (Role.ADMIN, Role.FACILITY_STAFF)
STAFF_READERS: tuple[str, ...] = (Role.ADMIN, Role.FACILITY_STAFF, Role.FINANCE)
CLIENT_ACTORS: tuple[str, ...] = (Role.CLIENT_ADMIN,)
SYSTEM_ROLE = "system"


def is_ticket_staff(who: Requester) -> bool:
    return who.role in TICKET_STAFF or who.role == SYSTEM_ROLE


def sees_internal(who: Requester) -> bool:
    return who.role in STAFF_READERS or who.role == SYSTEM_ROLE


def require_actor(who: Requester) -> None:
    """Only ticket staff and a client's admin change tickets; a client viewer and finance read."""
    if not (is_ticket_staff(who) or who.role in CLIENT_ACTORS):
        raise Forbidden("changing a ticket needs one of the roles: admin, facility_staff, client_admin")


def require_staff(who: Requester, what: str) -> None:
    if not is_ticket_staff(who):
        raise Forbidden(f"{what} is the facility's: it needs one of the roles admin, facility_staff")


def scoped(stmt: Select[Any], who: Requester) -> Select[Any]:
    """The tenant filter: a client's requester reads only its own client's tickets."""
    if sees_internal(who):
        return stmt
    if who.client_id is None:
        return stmt.where(Ticket.id.is_(None))  # a requester with neither: nothing
    return stmt.where(Ticket.client_id == who.client_id)


async def get_ticket(session: AsyncSession, who: Requester, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket:
    """The ticket, or 404 (also for another tenant's). With `for_update` the row is locked for the rest of
    the transaction, and re-read: two changes at once run one after the other, the second on the first's
    result, so neither is lost."""
    stmt = scoped(select(Ticket).where(Ticket.id == ticket_id), who)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    ticket = await session.scalar(stmt)
    if ticket is None:
        raise NotFound("ticket not found")
    return ticket


def reference(number: int) -> str:
    return f"T-{number}"
