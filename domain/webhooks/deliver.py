"""Webhook delivery: the worker's pass over `webhook_deliveries` (domain/webhooks/endpoints.py).

Each due delivery is claimed in its own transaction (FOR UPDATE SKIP LOCKED: another worker skips
it, so two passes never send one attempt twice), POSTed, and settled in that transaction. At least
once: only a crash between the receiver's 2xx and the commit repeats an attempt, with the same
`Seatlease-Event-Id`, which is what receivers dedup on. A failure (no connection, a timeout, a
non-2xx answer, a redirect: never followed) is retried after base * 2^(n-1) seconds (capped, with
jitter). An endpoint that failed `pause_after_failures` times in a row over at least
`pause_after_seconds` is paused: its deliveries are held, never dropped, its client's admins are
told by email, and resuming it sends what was held in the order of the changes.

The target is checked against the SSRF rules again now, and the request goes to the address that
was checked (Host header and TLS name kept), so a name re-pointed inside is refused. Nothing is
logged of a secret; the receiver's answer is kept truncated."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import certifi
import httpx
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import DomainError
from domain.models.user import Role, User
from domain.models.webhook import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from domain.services.audit import SystemActor
from domain.services.mail import queue_email
from domain.webhooks import signing
from domain.webhooks.config import WebhookConfig
from domain.webhooks.endpoints import event_body, pause_endpoint
from domain.webhooks.targets import resolve

logger = logging.getLogger("seatlease.webhooks")

Outcome = Literal["delivered", "retry"]


def backoff(config: WebhookConfig, attempts: int) -> timedelta:
    base = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * (1 + config.jitter * random.uniform(-1.0, 1.0)))


def encode(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class _Answer:
    status: int | None = None
    body: str | None = None
    error: str | None = None
    ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _secrets(config: WebhookConfig, ep: WebhookEndpoint, now: datetime) -> list[str]:
    current = signing.unseal(config.secret_key, ep.secret_ciphertext, endpoint_id=str(ep.id))
    if current is None:
        return []
    out = [current]
    if ep.previous_secret_ciphertext is not None and ep.previous_secret_until is not None and ep.previous_secret_until > now:
        old = signing.unseal(config.secret_key, ep.previous_secret_ciphertext, endpoint_id=str(ep.id))
        if old is not None:
            out.append(old)
    return out


async def _post(http: httpx.AsyncClient, config: WebhookConfig, ep: WebhookEndpoint, ev: WebhookEvent, now: datetime) -> _Answer:
    started = time.monotonic()
    answer = _Answer()
    keys = _secrets(config, ep, now)
    if not keys:
        answer.error = "the signing secret cannot be read (the server's secret key changed): rotate the endpoint's secret"
        return answer
    try:
        target = await resolve(ep.url, config.rules)
    except DomainError as exc:
        answer.error = f"refused: {exc.detail}"
        return answer
    body = encode(event_body(ev))
    ts = int(time.time())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "seatlease-webhooks/1",
        signing.SIGNATURE_HEADER: signing.signature_header(keys, ts, body),
        signing.EVENT_ID_HEADER: str(ev.id),
        signing.EVENT_TYPE_HEADER: ev.type,
    }
    try:
        async with asyncio.timeout(config.timeout_seconds):
            async with http.stream(
                "POST", target.connect_url, content=body, headers=headers, extensions={"sni_hostname": target.host}
            ) as resp:
                answer.status = resp.status_code
                seen = b""
                async for part in resp.aiter_bytes():
                    seen += part
                    if len(seen) >= config.response_body_limit:
                        break
                answer.body = seen[: config.response_body_limit].decode("utf-8", "replace")
        if resp.is_redirect:
            answer.error = f"redirect to {resp.headers.get('location', '?')[:200]} not followed"
        elif not answer.ok:
            answer.error = f"HTTP {resp.status_code}"
    except TimeoutError:
        answer.error = f"timed out after {config.timeout_seconds:g} s"
    except (httpx.HTTPError, OSError) as exc:
        answer.error = f"{type(exc).__name__}: {exc}"[:500]
    answer.ms = int((time.monotonic() - started) * 1000)
    return answer


async def _tell_paused(session: AsyncSession, ep: WebhookEndpoint) -> None:
    """The client's admins (the facility's admins for its own endpoints) by email, through the outbox."""
    who = (
        select(User.email).where(User.active.is_(True), User.role == Role.CLIENT_ADMIN, User.client_id == ep.client_id)
        if ep.client_id is not None
        else select(User.email).where(User.active.is_(True), User.role == Role.ADMIN, User.client_id.is_(None))
    )
    to = sorted(set((await session.scalars(who)).all()))
    if not to:
        logger.warning("webhook endpoint %s paused; nobody to tell", ep.id)
        return
    assert ep.paused_at is not None
    await queue_email(
        session,
        to=to,
        subject="Seatlease webhook endpoint paused",
        body=(
            f"Your webhook endpoint {ep.url} failed {ep.consecutive_failures} times in a row since "
            f"{ep.failing_since:%Y-%m-%d %H:%M} UTC and is paused.\n\n"
            f"Last error: {ep.paused_reason}\n\n"
            "Its events are held, not dropped. Once the receiver answers again, resume the endpoint "
            f"(API: POST /v1/webhook-endpoints/{ep.id}/resume) and what was held is delivered in order.\n"
        ),
        dedupe_key=f"webhook-paused:{ep.id}:{ep.paused_at.isoformat()}",
        topic="webhook_paused",
        client_id=ep.client_id,
        object_id=ep.id,
    )


async def _settle(session: AsyncSession, config: WebhookConfig, d: WebhookDelivery, answer: _Answer, now: datetime) -> Outcome:
    session.add(
        WebhookAttempt(
            delivery_id=d.id,
            at=now,
            duration_ms=answer.ms,
            response_status=answer.status,
            response_body=answer.body,
            error=answer.error,
        )
    )
    d.attempts += 1
    d.last_attempt_at = now
    d.response_status = answer.status
    d.last_error = answer.error
    # the endpoint's counters: locked after the delivery (the order every writer keeps), re-read under the lock
    ep = (
        await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == d.endpoint_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if answer.ok:
        d.status = DeliveryStatus.DELIVERED
        d.delivered_at = now
        ep.consecutive_failures = 0
        ep.failing_since = None
        ep.last_success_at = now
        await session.flush()
        return "delivered"
    d.next_attempt_at = now + backoff(config, d.attempts)
    ep.consecutive_failures += 1
    ep.failing_since = ep.failing_since or now
    await session.flush()
    if (
        ep.status == EndpointStatus.ACTIVE
        and ep.consecutive_failures >= config.pause_after_failures
        and (now - ep.failing_since).total_seconds() >= config.pause_after_seconds
    ):
        await pause_endpoint(session, SystemActor("webhooks"), ep, f"{answer.error}"[:500])
        await _tell_paused(session, ep)
        logger.warning("webhook endpoint %s paused after %d failures", ep.id, ep.consecutive_failures)
    return "retry"


def _tls(config: WebhookConfig) -> ssl.SSLContext:
    """The public CAs (certifi's, as httpx uses), and the configured private CA besides. The
    certificate is checked against the URL's host name (sent as SNI), not the address connected to."""
    ctx = ssl.create_default_context(cafile=certifi.where())
    if config.ca_file:
        ctx.load_verify_locations(cafile=config.ca_file)
    return ctx


async def _claim(session: AsyncSession, now: datetime) -> tuple[WebhookDelivery, WebhookEndpoint, WebhookEvent] | None:
    row = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint, WebhookEvent)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.status == EndpointStatus.ACTIVE,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
            .limit(1)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def deliver_due(
    maker: async_sessionmaker[AsyncSession], config: WebhookConfig, *, now: datetime | None = None
) -> dict[str, int]:
    """Up to ``batch_size`` due deliveries, each in its own transaction."""
    report = {"delivered": 0, "retry": 0}
    async with AsyncExitStack() as stack:
        http: httpx.AsyncClient | None = None  # made on the first claim: most passes have nothing to send
        for _ in range(config.batch_size):
            at = now or datetime.now(UTC)
            async with maker() as session, session.begin():
                claimed = await _claim(session, at)
                if claimed is None:
                    break
                if http is None:
                    http = await stack.enter_async_context(
                        httpx.AsyncClient(
                            follow_redirects=False, timeout=config.timeout_seconds, trust_env=False, verify=_tls(config)
                        )
                    )
                d, ep, ev = claimed
                answer = await _post(http, config, ep, ev, at)
                outcome = await _settle(session, config, d, answer, at)
            report[outcome] += 1
    return report


async def prune_delivered(
    maker: async_sessionmaker[AsyncSession], config: WebhookConfig, *, now: datetime | None = None, batch_size: int = 1000
) -> dict[str, int]:
    """The log kept `retention_days`: delivered deliveries older than that go (their attempts with
    them), then events older than that which no delivery refers to. Pending and held ones stay,
    however old: they are not delivered yet."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=config.retention_days)
    async with maker() as session, session.begin():
        old = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DeliveryStatus.DELIVERED, WebhookDelivery.delivered_at < cutoff)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        deliveries: Any = await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
        unreferenced = (
            select(WebhookEvent.id)
            .where(
                WebhookEvent.created_at < cutoff,
                ~exists().where(WebhookDelivery.event_id == WebhookEvent.id),
            )
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        events: Any = await session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(unreferenced)))
    return {"deliveries_pruned": int(deliveries.rowcount or 0), "events_pruned": int(events.rowcount or 0)}
