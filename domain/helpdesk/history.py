"""One change of a ticket, recorded once: its history row, its audit event, and telling the client.

Every use-case in domain/helpdesk ends a change with `log_change`. A public change of a ticket that
concerns a client is sent to it twice over: by email through the outbox (to the login that raised the
ticket when that is one of the client's logins, else to the client's admins; never to the person who made
the change) and by the outbound webhook `ticket.updated`, which the audit trigger derives from the public
audit actions below (domain/webhooks/catalog.py). Internal notes, internal attachments and assignments
have audit actions of their own that are no event, and their rows are not public: they reach neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.helpdesk.access import reference
from domain.helpdesk.schemas import Requester
from domain.models.ticket import Ticket, TicketEvent
from domain.models.user import Role, User
from domain.services.audit import record
from domain.services.mail import queue_email

# the audit actions of a ticket; PUBLIC_ACTIONS are the ones that become `ticket.updated`
PUBLIC_ACTIONS: tuple[str, ...] = ("ticket.raise", "ticket.status", "ticket.triage", "ticket.comment", "ticket.attach")
# --- device swaps (issue 15, domain/helpdesk/swaps.py): the client sees which device went and which came ---
PUBLIC_ACTIONS += ("ticket.device_swap",)
INTERNAL_ACTIONS: tuple[str, ...] = ("ticket.note", "ticket.assign", "ticket.attach_internal")
MAIL_TOPIC = "ticket"

_PUBLIC_FIELDS = (
    "id", "number", "client_id", "site_id", "seat_id", "device_id", "lease_id", "member_id", "category",
    "priority", "status", "subject", "description", "raised_by", "raised_via", "occurred_at", "created_at",
    "updated_at", "responded_at", "resolved_at", "closed_at", "resolution", "reopened_count",
)  # fmt: skip


def public_snapshot(ticket: Ticket) -> dict[str, Any]:
    """The ticket as its client may see it (no assignee, no SLA bookkeeping): the audit row's `after` of a
    public change, hence the webhook's payload."""
    out = {f: getattr(ticket, f) for f in _PUBLIC_FIELDS}
    out["reference"] = reference(ticket.number)
    return out


async def log_change(
    session: AsyncSession,
    who: Requester,
    ticket: Ticket,
    *,
    kind: str,
    action: str,
    now: datetime,
    public: bool,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
) -> TicketEvent:
    assert (action in PUBLIC_ACTIONS) == public, f"{action}: a public change has a public action, and only it"
    ticket.updated_at = now
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor_id=who.subject,
        actor=who.label,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        public=public,
        data=dict(data or {}),
    )
    session.add(event)
    await session.flush()
    after: dict[str, Any] = public_snapshot(ticket) if public else {"id": ticket.id, "number": ticket.number}
    after["event"] = {"id": event.id, "kind": kind, "from_status": from_status, "to_status": to_status, **event.data}
    await record(session, who, action, "ticket", ticket.id, before=before, after=after, client_id=ticket.client_id)
    if public and ticket.client_id is not None:
        await _mail_client(session, who, ticket, event)
    return event


async def recipients(session: AsyncSession, ticket: Ticket) -> list[User]:
    """Whom a ticket's client hears from: the login that raised it, when that is one of the client's active
    logins; else the client's active admins."""
    if ticket.client_id is None:
        return []
    if ticket.raised_by_id is not None:
        raiser = await session.scalar(
            select(User).where(User.id == ticket.raised_by_id, User.client_id == ticket.client_id, User.active.is_(True))
        )
        if raiser is not None:
            return [raiser]
    stmt = select(User).where(User.client_id == ticket.client_id, User.role == Role.CLIENT_ADMIN, User.active.is_(True))
    return list((await session.scalars(stmt.order_by(User.email))).all())


def _what(event: TicketEvent) -> str:
    d = event.data
    if event.kind == "raised":
        return "was raised"
    if event.kind == "status":
        word = "reopened" if d.get("reopen") else f"is now {str(event.to_status).replace('_', ' ')}"
        return word if not d.get("automatic") else f"{word} (its reopen window has passed)"
    if event.kind == "triage":
        return "was re-classified"
    if event.kind == "comment":
        return "has a new comment"
    if event.kind == "attachment":
        return f"has a new attachment ({d.get('filename')})"
    if event.kind == "device_swap":  # --- device swaps (issue 15) ---
        return f"had its {d.get('kind')} replaced ({d.get('faulty_serial')} → {d.get('replacement_serial')})"
    return "changed"


def _body(ticket: Ticket, event: TicketEvent) -> str:
    d = event.data
    lines = [f"Ticket {reference(ticket.number)} — {ticket.subject}", f"{_what(event).capitalize()}, by {event.actor}.", ""]
    lines.append(f"Status: {ticket.status.replace('_', ' ')} · priority {ticket.priority} · category {ticket.category}")
    if event.kind == "status" and event.to_status == "resolved" and ticket.resolution:
        lines += ["", "Resolution:", ticket.resolution]
    if event.kind == "comment" and d.get("body"):
        lines += ["", str(d["body"])]
    if event.kind == "triage":
        for field in ("priority", "category"):
            if field in d:
                lines.append(f"{field.capitalize()}: {d[field][0]} → {d[field][1]}")
    lines += ["", f"See it in the client portal: /portal/tickets/{ticket.id}"]
    return "\n".join(lines)


async def _mail_client(session: AsyncSession, who: Requester, ticket: Ticket, event: TicketEvent) -> None:
    # the person who made the change knows it already
    to = [u.email for u in await recipients(session, ticket) if u.id != who.subject]
    if not to:
        return
    await queue_email(
        session,
        to=to,
        subject=f"[{reference(ticket.number)}] {ticket.subject}: {_what(event)}",
        body=_body(ticket, event),
        dedupe_key=f"ticket-event:{event.id}",
        topic=MAIL_TOPIC,
        client_id=ticket.client_id,
        object_id=ticket.id,
    )
