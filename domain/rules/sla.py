"""The SLA's pure arithmetic: where a clock stands (running, due soon, breached, met, paused) and how
much of a target is left before "due soon". The instants themselves are SLA time (the hours the seat
is leased, domain/rules/leased_time.py); these rules only compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ClockState(StrEnum):
    RUNNING = "running"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"  # answered (response) or resolved in time
    MET_LATE = "met_late"  # answered or resolved after its due instant
    PAUSED = "paused"  # waiting on the client
    NONE = "none"  # no clock (a ticket raised before the SLA existed)


def warn_seconds(target_seconds: int, due_soon_percent: int) -> int:
    """The SLA time after the start from which a clock is "due soon": the last `due_soon_percent` of
    the target is left."""
    return target_seconds - target_seconds * due_soon_percent // 100


@dataclass(frozen=True)
class Clock:
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None  # responded_at / resolved_at
    breached_at: datetime | None
    paused: bool


def clock_state(clock: Clock, now: datetime) -> ClockState:
    """What the queue and the ticket page show: correct on read, whether or not the breach pass has
    run yet (its `breached_at` marks the breach for good and says staff were told)."""
    if clock.met_at is not None:
        late = clock.breached_at is not None or (clock.due_at is not None and clock.met_at > clock.due_at)
        return ClockState.MET_LATE if late else ClockState.MET
    if clock.breached_at is not None:
        return ClockState.BREACHED
    if clock.due_at is None:
        return ClockState.NONE
    if clock.paused:
        return ClockState.PAUSED
    if now >= clock.due_at:
        return ClockState.BREACHED
    if clock.warn_at is not None and now >= clock.warn_at:
        return ClockState.DUE_SOON
    return ClockState.RUNNING
