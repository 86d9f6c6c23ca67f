"""The worker: lease state transitions, then the provisioning reconciler and billing sync.

Each pass is its own transaction; several workers can run side by side because every job
claims its rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import worker as billing_worker
from billing.dunning import remind_due
from billing.overdue_events import mark_overdue  # --- webhooks ---
from domain.helpdesk.breaches import mark_breaches  # --- help desk SLA ---
from domain.leasing.holds import release_expired_holds
from domain.leasing.worker_pass import advance_lease_states, renew_due_leases
from domain.services.audit import SystemActor
from domain.services.mail_send import send_due
from domain.webhooks.deliver import deliver_due, prune_delivered  # --- webhooks ---
from provisioning import worker as provisioning_worker
from provisioning.liveness import Liveness
from service.settings import Settings

logger = logging.getLogger("seatlease.worker")

RECONCILER_TASK = "seatlease-reconciler"

Job = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[Any]]


async def lease_transitions(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    async with maker() as session, session.begin():
        return await advance_lease_states(session, SystemActor("worker"))


# --- proposals and holds ---
async def release_holds(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Lapsed proposals and expired pending approvals give their seats back (domain/leasing/holds.py)."""
    async with maker() as session, session.begin():
        return await release_expired_holds(session, SystemActor("worker"), pending_hold=settings.pending_hold)


# --- auto-renewal (issue 11, renewal) ---
async def lease_renewals(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Auto-renewals due today, before the lease-state pass could end those leases."""
    async with maker() as session, session.begin():
        return await renew_due_leases(session, SystemActor("worker"))


# --- end auto-renewal ---


# --- help desk SLA (issue 15) ---
async def sla_breaches(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Ticket SLA clocks past their due instant marked breached, and staff told once by email
    (domain/helpdesk/breaches.py), before the sender's job runs."""
    async with maker() as session, session.begin():
        return await mark_breaches(session)


# --- end help desk SLA ---


# --- email (the SMTP outbox) ---
async def send_mail(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Queued emails handed to the SMTP server (domain/services/mail_send.py); without
    SEATLEASE_SMTP_HOST nothing is sent and they stay pending."""
    return await send_due(maker, settings.mail())


# --- end email ---


# --- webhooks (issue 14: signed outbound webhooks) ---
async def overdue_invoices(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Invoices newly past their due date unpaid: marked once each, which is the `invoice.overdue` event."""
    return await mark_overdue(maker)


async def send_webhooks(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Due webhook deliveries POSTed, signed, to their endpoints (domain/webhooks/deliver.py); then
    the delivery log pruned past SEATLEASE_WEBHOOK_RETENTION_DAYS."""
    config = settings.webhooks()
    return {**await deliver_due(maker, config), **await prune_delivered(maker, config)}


# --- end webhooks ---


# --- collections (issue 12: payment reminders) ---
async def payment_reminders(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    """Reminders due today queued by email with the invoice's PDF (billing/dunning.py), just before the
    sender's job delivers them; without SMTP settings none is queued."""
    return await remind_due(maker, settings.dunning())


# --- end collections ---


async def _provisioning_pass(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    return await provisioning_worker.run_once(maker, settings.provisioning())


async def _billing_pass(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    return await billing_worker.run_once(maker, settings.billing())


# Each part's pass keeps its own name (`provisioning.worker.run_once`): that is what the log, the
# report's `failed_jobs` and the liveness row say when it fails.
_NAME = ("__module__", "__name__", "__qualname__")
provisioning_pass: Job = functools.update_wrapper(_provisioning_pass, provisioning_worker.run_once, assigned=_NAME, updated=())
billing_pass: Job = functools.update_wrapper(_billing_pass, billing_worker.run_once, assigned=_NAME, updated=())


def jobs(*, with_provisioning: bool = True) -> list[Job]:
    """Expired holds released, auto-renewals and lease transitions first, then the provisioning pass
    (unless its own loop runs), then billing."""
    first: list[Job] = [release_holds, lease_renewals, lease_transitions]
    jobs_ = [*first, provisioning_pass, billing_pass] if with_provisioning else [*first, billing_pass]
    jobs_.append(payment_reminders)  # --- collections: queued right before the sender runs ---
    jobs_.append(overdue_invoices)  # --- webhooks ---
    jobs_.append(send_webhooks)  # --- webhooks: after the passes whose changes they announce ---
    jobs_.append(sla_breaches)  # --- help desk SLA: staff told of a breach by the next send ---
    jobs_.append(send_mail)  # --- email: last, so a pass's own changes are not held up by a slow SMTP server ---
    return jobs_


async def run_pass(
    maker: async_sessionmaker[AsyncSession], settings: Settings, *, with_provisioning: bool = True
) -> dict[str, Any]:
    """Each job in turn; one failing job never stops the others (it is retried on the next pass).
    Returns the jobs that failed and the sites a job had to skip (see `advance_lease_states`)."""
    report: dict[str, Any] = {"failed_jobs": [], "sites_failing": []}
    for job in jobs(with_provisioning=with_provisioning):
        name = f"{getattr(job, '__module__', '?')}.{getattr(job, '__name__', job)}"
        try:
            result = await job(maker, settings)
        except Exception:
            logger.exception("worker job %s failed", name)
            report["failed_jobs"].append(name)
            continue
        if isinstance(result, dict) and isinstance(result.get("sites_failed"), list):
            report["sites_failing"].extend(result["sites_failed"])
    return report


async def _pause(stop: asyncio.Event, seconds: float, also: asyncio.Future[Any] | None = None) -> None:
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if also is not None:
        waiters.append(also)
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for p in pending:
        if p is not also:
            p.cancel()


async def run_forever(maker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Until `stop`: the periodic passes, and beside them the provisioning reconciler's own
    loop, which wakes on LISTEN/NOTIFY within moments of a lease change and sweeps on its own.

    The reconciler's task is supervised: should it end or raise for any reason while the worker is
    not stopping, that is logged and it is started again (after a capped back-off when it keeps
    ending). Nothing a periodic pass raises ends this loop; each pass records its liveness."""
    stop = stop or asyncio.Event()
    liveness = Liveness(maker, "periodic", prune_seconds=settings.worker_prune_seconds)

    def start() -> asyncio.Task[None]:
        return asyncio.create_task(provisioning_worker.run_forever(maker, settings.provisioning(), stop), name=RECONCILER_TASK)

    reconciler = start()
    started = time.monotonic()
    restarts = 0
    try:
        while not stop.is_set():
            try:
                report = await run_pass(maker, settings, with_provisioning=False)  # its own loop runs it
                if report["failed_jobs"]:
                    await liveness.failed(RuntimeError(f"jobs failed: {', '.join(report['failed_jobs'])}"))
                else:
                    await liveness.passed({"sites_failing": report["sites_failing"]})
            except Exception as exc:
                logger.exception("worker pass failed")
                await liveness.failed(exc)
            await _pause(stop, settings.worker_interval_seconds, reconciler)
            if reconciler.done() and not stop.is_set():
                _log_end(reconciler)
                restarts = 0 if time.monotonic() - started > 300 else restarts + 1
                delay = min(60.0, 2.0**restarts - 1)
                if delay:
                    await _pause(stop, delay)
                if not stop.is_set():
                    logger.warning("restarting the provisioning reconciler (restart %d)", restarts + 1)
                    reconciler = start()
                    started = time.monotonic()
    finally:
        stop.set()
        await asyncio.wait([reconciler])
        if not reconciler.cancelled() and reconciler.exception() is not None:
            logger.error("the provisioning reconciler failed while stopping", exc_info=reconciler.exception())
        await liveness.gone()


def _log_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        logger.error("the provisioning reconciler task was cancelled while the worker runs")
        return
    exc = task.exception()
    if exc is not None:
        logger.error("the provisioning reconciler task raised", exc_info=exc)
    else:
        logger.error("the provisioning reconciler task ended while the worker runs")
