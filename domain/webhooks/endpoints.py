"""Webhook endpoints and their delivery log: the use-cases of the API, the admin and the portal.

Tenancy: a client's endpoint belongs to it (its client admins manage it; another tenant's is 404);
the facility's own endpoints (client_id NULL) are the admin's. ``staff`` below means an admin.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidState, NotFound, ValidationFailed
from domain.models.webhook import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from domain.services import clients
from domain.services.audit import Actor, record, snapshot
from domain.webhooks import signing
from domain.webhooks.catalog import EVENT_TYPES, SOURCES
from domain.webhooks.schemas import Attempt, Delivery, DeliveryDetail, EventTypeInfo
from domain.webhooks.targets import TargetRules, resolve

MAX_ENDPOINTS_PER_OWNER = 20


def event_types() -> list[EventTypeInfo]:
    emitted = {s.event_type for s in SOURCES}
    return [EventTypeInfo(type=t, description=d, emitted=t in emitted) for t, d in EVENT_TYPES.items()]


def _check_types(types: list[str]) -> list[str]:
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(f"unknown event type {unknown[0]}; the types are {', '.join(EVENT_TYPES)}", field="event_types")
    return sorted(set(types), key=list(EVENT_TYPES).index)


def _tenant_filter(stmt: Any, *, tenant: uuid.UUID | None, staff: bool) -> Select[Any]:
    if staff:
        return stmt
    if tenant is None:
        return stmt.where(false())
    return stmt.where(WebhookEndpoint.client_id == tenant)


async def get_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, tenant: uuid.UUID | None, staff: bool, lock: bool = False
) -> WebhookEndpoint:
    row = await session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if row is None or (not staff and (tenant is None or row.client_id != tenant)):
        raise NotFound("webhook endpoint not found")
    return row


async def list_endpoints(
    session: AsyncSession, *, tenant: uuid.UUID | None, staff: bool, client_id: uuid.UUID | None, facility: bool | None
) -> list[WebhookEndpoint]:
    stmt = _tenant_filter(select(WebhookEndpoint), tenant=tenant, staff=staff)
    if client_id is not None:
        stmt = stmt.where(WebhookEndpoint.client_id == client_id)
    if facility is not None:
        stmt = stmt.where(WebhookEndpoint.client_id.is_(None) if facility else WebhookEndpoint.client_id.is_not(None))
    return list((await session.scalars(stmt.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))).all())


async def create_endpoint(
    session: AsyncSession,
    actor: Actor,
    *,
    client_id: uuid.UUID | None,
    url: str,
    event_types: list[str],
    description: str,
    rules: TargetRules,
    secret_key: str,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned here only; kept sealed)."""
    if client_id is not None:
        await clients.get_client(session, client_id, for_update=True)  # 404; endpoints of one client are counted in turn
    types = _check_types(event_types)
    await resolve(url, rules)
    owner = WebhookEndpoint.client_id == client_id if client_id is not None else WebhookEndpoint.client_id.is_(None)
    if len((await session.scalars(select(WebhookEndpoint.id).where(owner))).all()) >= MAX_ENDPOINTS_PER_OWNER:
        raise InvalidState(f"at most {MAX_ENDPOINTS_PER_OWNER} endpoints each; delete one first", field="url")
    secret = signing.new_secret()
    row = WebhookEndpoint(
        id=uuid.uuid4(),
        client_id=client_id,
        url=url.strip(),
        description=description,
        event_types=types,
        created_by=actor.subject,
    )
    row.secret_ciphertext = signing.seal(secret_key, secret, endpoint_id=str(row.id))
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record(session, actor, "webhook_endpoint.create", "webhook_endpoint", row.id, after=snapshot(row), client_id=client_id)
    return row, secret


async def update_endpoint(
    session: AsyncSession,
    actor: Actor,
    row: WebhookEndpoint,
    *,
    url: str | None,
    event_types: list[str] | None,
    description: str | None,
    rules: TargetRules,
) -> WebhookEndpoint:
    before = snapshot(row)
    if url is not None:
        await resolve(url, rules)
        row.url = url.strip()
    if event_types is not None:
        row.event_types = _check_types(event_types)
    if description is not None:
        row.description = description
    row.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "webhook_endpoint.update",
        "webhook_endpoint",
        row.id,
        before=before,
        after=snapshot(row),
        client_id=row.client_id,
    )
    return row


async def rotate_secret(
    session: AsyncSession, actor: Actor, row: WebhookEndpoint, *, secret_key: str, overlap: timedelta, now: datetime | None = None
) -> str:
    """A new secret, returned here only. For ``overlap`` the old one signs too (a second ``v1=``) so a
    receiver can swap secrets without dropping an event; an overlap of zero ends the old one at once."""
    now = now or datetime.now(UTC)
    secret = signing.new_secret()
    if overlap > timedelta(0):
        row.previous_secret_ciphertext = row.secret_ciphertext
        row.previous_secret_until = now + overlap
    else:
        row.previous_secret_ciphertext = None
        row.previous_secret_until = None
    row.secret_ciphertext = signing.seal(secret_key, secret, endpoint_id=str(row.id))
    row.updated_at = now
    await session.flush()
    after = {"previous_secret_until": row.previous_secret_until}
    await record(session, actor, "webhook_endpoint.rotate", "webhook_endpoint", row.id, after=after, client_id=row.client_id)
    return secret


async def delete_endpoint(session: AsyncSession, actor: Actor, row: WebhookEndpoint) -> None:
    """Gone with its delivery log (what was pending is not sent)."""
    before = snapshot(row)
    await session.delete(row)
    await session.flush()
    await record(session, actor, "webhook_endpoint.delete", "webhook_endpoint", row.id, before=before, client_id=row.client_id)


def delete_consequences() -> list[str]:
    """What deleting an endpoint loses, for the confirmation pages."""
    return [
        "Its events stop at once: what is still pending or held for it is not sent.",
        "Its delivery log goes with it.",
        "To stop for a while instead, pause it: its events are held until you resume it.",
    ]


async def pause_endpoint(session: AsyncSession, actor: Actor, row: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Deliveries are held (new events keep queueing for it) until it is resumed."""
    if row.status != EndpointStatus.PAUSED:
        row.status = EndpointStatus.PAUSED
        row.paused_at = datetime.now(UTC)
        row.paused_reason = reason
        row.updated_at = row.paused_at
        await session.flush()
        after = {"status": row.status, "paused_reason": reason}
        await record(session, actor, "webhook_endpoint.pause", "webhook_endpoint", row.id, after=after, client_id=row.client_id)
    return row


async def resume_endpoint(session: AsyncSession, actor: Actor, row: WebhookEndpoint, *, now: datetime | None = None) -> int:
    """Active again: what was held is due now and goes out in the order of the changes. Returns how many."""
    now = now or datetime.now(UTC)
    # the held rows first, skipping one a worker still has in hand (it settles on its own): a worker
    # locks a delivery and then its endpoint, so locking the endpoint first here could deadlock
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.endpoint_id == row.id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .with_for_update(skip_locked=True)
    )
    result: Any = await session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(due)).values(next_attempt_at=now))
    held = result.rowcount
    if row.status == EndpointStatus.PAUSED:
        row.status = EndpointStatus.ACTIVE
        row.paused_at = None
        row.paused_reason = None
        row.consecutive_failures = 0
        row.failing_since = None
        row.updated_at = now
        await session.flush()
        await record(
            session, actor, "webhook_endpoint.resume", "webhook_endpoint", row.id, after={"held": held}, client_id=row.client_id
        )
    return int(held or 0)


def _delivery_view(d: WebhookDelivery, ev: WebhookEvent, endpoint_status: str) -> Delivery:
    pending = d.status == DeliveryStatus.PENDING
    return Delivery(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=ev.type,
        event_created=ev.created_at,
        status="delivered" if not pending else "held" if endpoint_status == EndpointStatus.PAUSED else "pending",
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if pending else None,
        last_attempt_at=d.last_attempt_at,
        last_error=d.last_error,
        response_status=d.response_status,
        delivered_at=d.delivered_at,
    )


async def list_deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, status: str | None, before_seq: int | None, limit: int
) -> tuple[list[Delivery], str | None]:
    """An endpoint's log, newest change first; the cursor is the sequence number to read below."""
    stmt = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    if status == "delivered":
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus.DELIVERED)
    elif status in ("pending", "held"):
        if (status == "held") != (endpoint.status == EndpointStatus.PAUSED):
            return [], None
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus.PENDING)
    if before_seq is not None:
        stmt = stmt.where(WebhookDelivery.event_seq < before_seq)
    rows = (await session.execute(stmt.order_by(WebhookDelivery.event_seq.desc()).limit(limit + 1))).all()
    items = [_delivery_view(d, ev, endpoint.status) for d, ev in rows[:limit]]
    return items, (str(rows[limit - 1][0].event_seq) if len(rows) > limit else None)


@dataclass(frozen=True)
class DeliveryFound:
    delivery: WebhookDelivery
    event: WebhookEvent
    endpoint: WebhookEndpoint


async def get_delivery(
    session: AsyncSession, delivery_id: uuid.UUID, *, tenant: uuid.UUID | None, staff: bool, lock: bool = False
) -> DeliveryFound:
    stmt: Any = (
        select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    )
    stmt = _tenant_filter(stmt, tenant=tenant, staff=staff)
    if lock:
        stmt = stmt.with_for_update(of=WebhookDelivery)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound("webhook delivery not found")
    return DeliveryFound(*row)


async def delivery_detail(session: AsyncSession, found: DeliveryFound) -> DeliveryDetail:
    attempts = (
        await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == found.delivery.id).order_by(WebhookAttempt.id.desc())
        )
    ).all()
    view = _delivery_view(found.delivery, found.event, found.endpoint.status)
    return DeliveryDetail(
        **view.model_dump(), payload=event_body(found.event), attempt_log=[Attempt.model_validate(a) for a in attempts]
    )


def event_body(ev: WebhookEvent) -> dict[str, Any]:
    """What the receiver gets: the same for every attempt and every redelivery."""
    return {
        "id": str(ev.id),
        "type": ev.type,
        "created": int(ev.created_at.timestamp()),
        "client_id": str(ev.client_id) if ev.client_id else None,
        "data": ev.data,
    }


async def redeliver(session: AsyncSession, actor: Actor, found: DeliveryFound, *, now: datetime | None = None) -> DeliveryFound:
    """A new attempt of the same event (same id: a receiver that dedups sees a repeat), due now, or as
    soon as its endpoint is resumed."""
    d = found.delivery
    d.status = DeliveryStatus.PENDING
    d.next_attempt_at = now or datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "webhook_delivery.redeliver",
        "webhook_delivery",
        d.id,
        after={"event_id": d.event_id, "endpoint_id": d.endpoint_id},
        client_id=found.endpoint.client_id,
    )
    return found


async def backlog(session: AsyncSession, now: datetime | None = None) -> dict[str, float]:
    """For /metrics: deliveries waiting (due or backing off) and held (paused endpoints), paused endpoints,
    and the age of the oldest waiting delivery's event (0 when none). Reads the pending rows only (their
    partial index), never the delivered history."""
    now = now or datetime.now(UTC)
    paused = WebhookEndpoint.status == EndpointStatus.PAUSED
    rows = (
        await session.execute(
            select(paused, func.count(), func.min(WebhookDelivery.created_at))
            .select_from(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            .group_by(paused)
        )
    ).all()
    out = {"waiting": 0.0, "held": 0.0, "oldest_waiting_seconds": 0.0}
    for is_paused, n, oldest in rows:
        out["held" if is_paused else "waiting"] = float(n)
        if not is_paused and oldest is not None:
            out["oldest_waiting_seconds"] = max(0.0, (now - oldest).total_seconds())
    out["paused_endpoints"] = float(await session.scalar(select(func.count()).select_from(WebhookEndpoint).where(paused)) or 0)
    return out
