"""The provisioning worker: one reconciler pass per worker tick, and a listener that runs a
pass as soon as a lease changes (NOTIFY on `seatlease_leases`), with periodic sweeps between.

`service/worker.py` calls `run_once` every tick; `run_forever` is the prompt path and runs as
its own task beside it (both may run in several processes: rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.config import ProvisioningConfig
from provisioning.providers.badges import BadgeWebhooks
from provisioning.providers.base import Provider
from provisioning.providers.radius import RadiusSql
from provisioning.providers.scim import ScimDirectory
from provisioning.reconciler import Reconciler
from service.settings import Settings

logger = logging.getLogger("seatlease.provisioning")
CHANNEL = "seatlease_leases"

_reconcilers: dict[tuple[int, tuple[Any, ...]], Reconciler] = {}


def build_providers(config: ProvisioningConfig, reconciler: Reconciler) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    if config.scim_base_url:
        providers["directory"] = ScimDirectory(config.scim_base_url, config.scim_token,
                                               timeout=config.http_timeout_seconds, exclusive=reconciler.exclusive,
                                               max_connections=config.concurrency * max(1, config.parallel_batches))
    if config.badge_webhook_url and config.badge_webhook_secret:
        providers["badge"] = BadgeWebhooks(config.badge_webhook_url, config.badge_webhook_secret,
                                           timeout=config.http_timeout_seconds)
    if config.radius_database_url:
        providers["wifi"] = RadiusSql(config.radius_database_url)
    return providers


def make_reconciler(maker: async_sessionmaker[AsyncSession], config: ProvisioningConfig) -> Reconciler:
    reconciler = Reconciler(maker, config, {})
    reconciler.providers = build_providers(config, reconciler)
    return reconciler


def reconciler_for(maker: async_sessionmaker[AsyncSession], settings: Settings) -> Reconciler:
    """One reconciler (and its HTTP clients and pools) per session maker and configuration."""
    config = ProvisioningConfig.from_settings(settings)
    key = (id(maker), (config.scim_base_url, config.scim_token, config.radius_database_url,
                       config.badge_webhook_url, config.badge_webhook_secret))
    if key not in _reconcilers:
        _reconcilers[key] = make_reconciler(maker, config)
    return _reconcilers[key]


async def run_once(maker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Any]:
    return await reconciler_for(maker, settings).run_once()


def _listen_url(maker: async_sessionmaker[AsyncSession]) -> str:
    engine = maker.kw["bind"]
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def run_forever(maker: async_sessionmaker[AsyncSession], settings: Settings,
                      stop: asyncio.Event | None = None, *, reconciler: Reconciler | None = None) -> None:
    """React to lease changes within moments; sweep every `sweep_interval_seconds` regardless."""
    stop = stop or asyncio.Event()
    rec = reconciler or reconciler_for(maker, settings)
    wake = asyncio.Event()
    conn: asyncpg.Connection | None = None

    def on_notify(*_: Any) -> None:
        wake.set()

    while not stop.is_set():
        try:
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(_listen_url(maker))
                await conn.add_listener(CHANNEL, on_notify)
            wake.clear()
            await rec.run_once()
            # a pass that ran out of budget leaves work due: go again at once
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            due = await rec.seconds_until_due()
            timeout = rec.config.sweep_interval_seconds if due is None else min(max(due, 0.25), rec.config.sweep_interval_seconds)
            _, pending = await asyncio.wait(waiters, timeout=timeout,
                                            return_when=asyncio.FIRST_COMPLETED)
            for p in pending:
                p.cancel()
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("provisioning listener: %s; reconnecting", type(exc).__name__)
            conn = None
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            except TimeoutError:
                pass
    if conn is not None and not conn.is_closed():
        await conn.close()
