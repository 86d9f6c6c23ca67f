"""The event catalog: which change is which event, in one place.

Every use-case already records an audit event in its own transaction (domain/services/audit.py);
the webhook event is derived from that row by a trigger on `audit_events` (migration 0033), so it
commits or rolls back with the change, exactly once per change, whichever path wrote the audit row:
the ORM (`record`), COPY (`record_many`, billing batches and the reconciler's credential changes) or
raw SQL (payment settlement). `SOURCES` below is that mapping; the trigger's CASE is
`trigger_case()`'s text, and tests/test_webhook_events.py checks the installed trigger says the same.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES: dict[str, str] = {
    "lease.confirmed": "A lease is confirmed: booked without approval, approved by the facility, or a proposal accepted.",
    "lease.renewed": "A lease is renewed for a new term (by hand or automatically).",
    "lease.ending": "A lease's end is scheduled (notice given, early termination).",
    "lease.ended": "A lease has ended; its seats are released.",
    "seat.assigned": "Agents are assigned to seats of a lease, or a seat is moved.",
    "credential.active": "An agent's facility credential (login, Wi-Fi, badge) is live.",
    "credential.revoked": "An agent's facility credential stopped working.",
    "invoice.issued": "An invoice is issued.",
    "invoice.paid": "An invoice is paid in full.",
    "invoice.overdue": "An issued invoice is past its due date and not paid.",
    "ticket.updated": "A help-desk ticket changed in a way its client sees: raised, a status change, a "
    "re-classification, a comment or an attachment (never an internal note, internal attachment or assignment).",
}


@dataclass(frozen=True)
class Source:
    """An audit action that is an event; `statuses`: only when the object's status after it is one of these."""

    event_type: str
    action: str
    statuses: tuple[str, ...] = ()


SOURCES: tuple[Source, ...] = (
    Source("lease.confirmed", "lease.create", ("confirmed", "active")),
    Source("lease.confirmed", "lease.proposal_accepted", ("confirmed", "active")),
    Source("lease.confirmed", "lease.approve"),
    Source("lease.renewed", "lease.renew"),
    Source("lease.renewed", "lease.auto_renew"),
    Source("lease.ending", "lease.end"),
    Source("lease.ended", "lease.ended"),
    Source("seat.assigned", "lease.assignments"),
    Source("seat.assigned", "lease.seat_moved"),
    Source("seat.assigned", "lease.floor_moved"),
    Source("credential.active", "credential.granted"),
    # the login stops working when it is disabled; the account's deletion after the grace is housekeeping
    Source("credential.revoked", "credential.disabled"),
    Source("invoice.issued", "invoice.issue"),
    Source("invoice.paid", "invoice.paid"),
    Source("invoice.overdue", "invoice.overdue"),
    # --- help desk (issue 15): the public changes of a ticket (domain/helpdesk/history.py PUBLIC_ACTIONS);
    # internal notes, internal attachments and assignments have actions of their own that are no event
    Source("ticket.updated", "ticket.raise"),
    Source("ticket.updated", "ticket.status"),
    Source("ticket.updated", "ticket.triage"),
    Source("ticket.updated", "ticket.comment"),
    Source("ticket.updated", "ticket.attach"),
    Source("ticket.updated", "ticket.device_swap"),  # --- device swaps (issue 15): migration 0039 ---
)


def trigger_case() -> str:
    """The event type of an audit row `n` as a SQL CASE (NULL: not an event)."""
    whens = []
    for s in SOURCES:
        cond = f"n.action = '{s.action}'"
        if s.statuses:
            cond += " AND n.after->>'status' IN (" + ",".join(f"'{x}'" for x in s.statuses) + ")"
        whens.append(f"WHEN {cond} THEN '{s.event_type}'")
    return "CASE " + " ".join(whens) + " END"
