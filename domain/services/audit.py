"""Audit events: one append-only row for every write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.audit import AuditEvent


class Actor(Protocol):
    @property
    def subject(self) -> uuid.UUID: ...
    @property
    def label(self) -> str: ...


class SystemActor:
    """The worker or a CLI command acting on its own."""

    def __init__(self, label: str = "system") -> None:
        self.subject = uuid.UUID(int=0)
        self.label = label


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


_SECRET_HINTS = ("password", "secret", "hash", "token")


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of an ORM object, without anything secret nor what the database computes
    from them (a seat's label_key: its label again)."""
    mapper = inspect(obj).mapper
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if not any(h in attr.key for h in _SECRET_HINTS) and attr.columns[0].computed is None
    }


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client_id: uuid.UUID | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.subject,
            actor=actor.label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            client_id=client_id,
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
        )
    )


async def list_events(
    session: AsyncSession,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int,
) -> tuple[list[AuditEvent], str | None]:
    """A page of audit events, newest first; the next page's cursor is the id to read below.

    ``action`` is one action (`lease.end`; every action on a kind of object is ``object_type``);
    ``actor`` is the actor's label as recorded (a user's email, `system`, a worker's name).
    Every filter is an equality on an index led by its column and ending in the id
    (migration 0028), so a rare match is found without scanning the table backwards."""
    stmt = select(AuditEvent)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor.strip())
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    rows = list((await session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1))).all())
    nxt = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], nxt


@dataclass(frozen=True)
class FieldChange:
    """One field of an audited object: its value before and after (None where it had none)."""

    field: str
    before: Any
    after: Any
    kind: str  # "added", "removed", "changed" or "same"


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None, *, include_same: bool = False) -> list[FieldChange]:
    """What an event changed, field by field in the order the object lists them: a create shows
    every field as added, a delete every field as removed, an update only what moved."""
    b, a = before or {}, after or {}
    out: list[FieldChange] = []
    for key in [*b.keys(), *(k for k in a if k not in b)]:
        if key in b and key in a:
            if b[key] == a[key] and not include_same:
                continue
            out.append(FieldChange(key, b[key], a[key], "same" if b[key] == a[key] else "changed"))
        elif key in a:
            out.append(FieldChange(key, None, a[key], "added"))
        else:
            out.append(FieldChange(key, b[key], None, "removed"))
    return out


@dataclass(frozen=True)
class AuditEntry:
    """One event of a bulk write (`record_many`): what `record` takes after the actor."""

    action: str
    object_type: str
    object_id: Any
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    client_id: uuid.UUID | None = None


AUDIT_COLUMNS = ("actor_id", "actor", "action", "object_type", "object_id", "client_id", "before", "after")


async def record_many(session: AsyncSession, actor: Actor, entries: Sequence[AuditEntry]) -> None:
    """The events of a bulk write (a billing batch issues thousands of documents): the rows `record`
    writes one by one, loaded with COPY on the session's own connection and transaction. The
    driver, not the ORM's bulk insert: a batch's audit rows would cost a fifth more CPU through the
    ORM, and COPY is a single round trip where an INSERT per row costs one each (bench/bench_billing.py)."""
    if not entries:
        return
    conn = await session.connection()
    await conn.exec_driver_sql("SELECT 1")  # the adapter sends BEGIN lazily: open the transaction first
    raw: Any = (await conn.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(
        "audit_events",
        columns=list(AUDIT_COLUMNS),
        records=[
            (
                actor.subject,
                actor.label,
                e.action,
                e.object_type,
                str(e.object_id),
                e.client_id,
                None if e.before is None else json.dumps(_jsonable(e.before)),
                None if e.after is None else json.dumps(_jsonable(e.after)),
            )
            for e in entries
        ],
    )


# --- integrations (issue 13): `seatlease up` starts the demo's targets only beside the demo's data ---
async def system_actor_wrote(session: AsyncSession, label: str) -> bool:
    """Whether the system actor `label` ever wrote anything (the log is append-only, so this stays true):
    e.g. "demo-seed", for a database that holds the demo data."""
    stmt = select(AuditEvent.id).where(AuditEvent.actor_id == SystemActor().subject, AuditEvent.actor == label).limit(1)
    return (await session.scalar(stmt)) is not None
