"""The ticket workflow as plain values: which status may follow which, who may move it, the reopen window.

    new → acknowledged → in_progress → waiting_on_client → resolved → closed

with the shortcuts people take (new → in_progress, waiting_on_client → in_progress when the client
answers, any open status → resolved) and one way back: a resolved ticket reopens (→ in_progress)
within the reopen window. Closed is final. Staff may make every move (a reopen at any time while the
ticket is resolved); a client may only reopen its resolved ticket within the window or confirm it
(resolved → closed). After the window a resolved ticket is closed by the worker (`due_for_auto_close`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TicketStatus(StrEnum):
    """The workflow's statuses (the tickets table's check constraint is built from them)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CLIENT = "waiting_on_client"
    RESOLVED = "resolved"
    CLOSED = "closed"


NEW, ACKNOWLEDGED, IN_PROGRESS, WAITING_ON_CLIENT, RESOLVED, CLOSED = TicketStatus
STATUSES: tuple[str, ...] = tuple(TicketStatus)
OPEN_STATUSES: tuple[str, ...] = (NEW, ACKNOWLEDGED, IN_PROGRESS, WAITING_ON_CLIENT)
# the statuses whose SLA clocks are done; the queue shows the others (and its index holds only them)
DONE_STATUSES: tuple[str, ...] = (RESOLVED, CLOSED)
DEFAULT_REOPEN_DAYS = 7

# every move the workflow knows, whoever makes it
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({ACKNOWLEDGED, IN_PROGRESS, WAITING_ON_CLIENT, RESOLVED}),
    ACKNOWLEDGED: frozenset({IN_PROGRESS, WAITING_ON_CLIENT, RESOLVED}),
    IN_PROGRESS: frozenset({WAITING_ON_CLIENT, RESOLVED}),
    WAITING_ON_CLIENT: frozenset({IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({IN_PROGRESS, CLOSED}),  # reopen, or confirm
    CLOSED: frozenset(),
}
# the moves a client makes itself (its answer on a ticket waiting on it is a comment, see `client_answer_moves`)
CLIENT_TRANSITIONS: dict[str, frozenset[str]] = {RESOLVED: frozenset({IN_PROGRESS, CLOSED})}


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def is_reopen(from_status: str, to_status: str) -> bool:
    return from_status == RESOLVED and to_status == IN_PROGRESS


def reopen_deadline(resolved_at: datetime, reopen_days: int) -> datetime:
    """The last instant a client may reopen a ticket resolved at `resolved_at`."""
    return resolved_at + timedelta(days=reopen_days)


def within_reopen_window(resolved_at: datetime | None, now: datetime, reopen_days: int) -> bool:
    return resolved_at is not None and now <= reopen_deadline(resolved_at, reopen_days)


@dataclass(frozen=True)
class Refusal:
    """Why a move is refused: `kind` "invalid" (the workflow has no such move), "forbidden" (not this
    person's to make) or "expired" (the reopen window has passed); `reason` is shown to the person."""

    kind: str
    reason: str


def refusal(
    from_status: str,
    to_status: str,
    *,
    staff: bool,
    resolved_at: datetime | None,
    now: datetime,
    reopen_days: int = DEFAULT_REOPEN_DAYS,
) -> Refusal | None:
    """Why this move is refused (None: allowed)."""
    if to_status not in TRANSITIONS:
        return Refusal("invalid", f"unknown status {to_status!r}")
    if from_status == to_status:
        return Refusal("invalid", f"the ticket is already {to_status}")
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        return Refusal("invalid", f"a {from_status} ticket cannot become {to_status}")
    if staff:
        return None
    if to_status not in CLIENT_TRANSITIONS.get(from_status, frozenset()):
        return Refusal("forbidden", f"only the facility moves a ticket from {from_status} to {to_status}")
    if is_reopen(from_status, to_status) and not within_reopen_window(resolved_at, now, reopen_days):
        return Refusal("expired", f"the reopen window ({reopen_days} days after resolution) has passed")
    return None


def may_change(
    from_status: str, to_status: str, *, staff: bool, resolved_at: datetime | None, now: datetime, reopen_days: int
) -> bool:
    return refusal(from_status, to_status, staff=staff, resolved_at=resolved_at, now=now, reopen_days=reopen_days) is None


def client_targets(status: str, resolved_at: datetime | None, now: datetime, reopen_days: int) -> list[str]:
    """The moves a client may make now (the portal's buttons), in workflow order."""
    return [t for t in STATUSES if may_change(status, t, staff=False, resolved_at=resolved_at, now=now, reopen_days=reopen_days)]


def staff_targets(status: str) -> list[str]:
    return [t for t in STATUSES if t in TRANSITIONS.get(status, frozenset())]


def client_answer_moves(status: str) -> str | None:
    """The status a client's comment moves the ticket to (it answered what the facility waited for)."""
    return IN_PROGRESS if status == WAITING_ON_CLIENT else None


def accepts_comments(status: str) -> bool:
    """A closed ticket is final: a new problem is a new ticket."""
    return status != CLOSED


def due_for_auto_close(status: str, resolved_at: datetime | None, now: datetime, reopen_days: int) -> bool:
    """A resolved ticket whose reopen window has passed is closed by the worker."""
    return status == RESOLVED and resolved_at is not None and now > reopen_deadline(resolved_at, reopen_days)


def counts_as_response(*, staff: bool, public: bool) -> bool:
    """Whether a change is an answer the client can see (sets `responded_at` once): a staff status
    change (acknowledged or any other) or a public staff comment. Internal notes and assignments are not."""
    return staff and public
