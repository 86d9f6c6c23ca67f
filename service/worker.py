"""The worker: lease state transitions, then the provisioning reconciler and billing sync.

Each pass is its own transaction; several workers can run side by side because every job
claims its rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.services.audit import SystemActor
from domain.services.leases import advance_lease_states
from service.settings import Settings

logger = logging.getLogger("seatlease.worker")

Job = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[Any]]


async def lease_transitions(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, int]:
    async with maker() as session, session.begin():
        return await advance_lease_states(session, SystemActor("worker"))


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def jobs(*, with_provisioning: bool = True) -> list[Job]:
    """Lease transitions first, then each part's `worker.run_once` where that part exists."""
    found: list[Job] = [lease_transitions]
    names = ("provisioning.worker", "billing.worker") if with_provisioning else ("billing.worker",)
    for name in names:
        module = _optional(name)
        if module is not None:
            found.append(module.run_once)
    return found


async def run_pass(maker: async_sessionmaker[AsyncSession], settings: Settings, *,
                   with_provisioning: bool = True) -> None:
    for job in jobs(with_provisioning=with_provisioning):
        try:
            await job(maker, settings)
        except Exception:
            # one failing job must not stop the others; it is retried on the next pass
            logger.exception("worker job %s failed", getattr(job, "__module__", job))


async def run_forever(maker: async_sessionmaker[AsyncSession], settings: Settings,
                      stop: asyncio.Event | None = None) -> None:
    """Until `stop`: the periodic passes, and beside them the provisioning reconciler's own
    loop, which wakes on LISTEN/NOTIFY within moments of a lease change and sweeps on its own."""
    stop = stop or asyncio.Event()
    provisioning = _optional("provisioning.worker")
    reconciler = (
        asyncio.create_task(provisioning.run_forever(maker, settings, stop)) if provisioning is not None else None
    )
    try:
        while not stop.is_set():
            await run_pass(maker, settings, with_provisioning=reconciler is None)
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.worker_interval_seconds)
            except TimeoutError:
                pass
    finally:
        stop.set()
        if reconciler is not None:
            await reconciler
