"""The provisioning worker: one reconciler pass per worker tick, and a listener that runs a
pass as soon as a lease changes (NOTIFY on `seatlease_leases`), with periodic sweeps between.

`service/worker.py` calls `run_once` every tick; `run_forever` is the prompt path and runs as
its own task beside it, supervised (both may run in several processes: rows are claimed with SKIP
LOCKED). `run_forever` survives any failure of a pass and records its liveness after each one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.events import LEASES_CHANNEL
from provisioning.config import ProvisioningConfig
from provisioning.liveness import Liveness
from provisioning.providers.badges import BadgeWebhooks
from provisioning.providers.base import Provider
from provisioning.providers.radius import RadiusSql
from provisioning.providers.scim import ScimDirectory
from provisioning.reconciler import Reconciler

logger = logging.getLogger("seatlease.provisioning")
CHANNEL = LEASES_CHANNEL

_reconcilers: dict[tuple[int, tuple[Any, ...]], Reconciler] = {}


def build_providers(config: ProvisioningConfig, reconciler: Reconciler) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    if config.scim_base_url:
        providers["directory"] = ScimDirectory(
            config.scim_base_url,
            config.scim_token,
            timeout=config.http_timeout_seconds,
            exclusive=reconciler.exclusive,
            max_connections=config.in_flight,
        )
    if config.badge_webhook_url and config.badge_webhook_secret:
        providers["badge"] = BadgeWebhooks(
            config.badge_webhook_url, config.badge_webhook_secret, timeout=config.http_timeout_seconds
        )
    if config.radius_database_url:
        providers["wifi"] = RadiusSql(config.radius_database_url)
    return providers


def make_reconciler(maker: async_sessionmaker[AsyncSession], config: ProvisioningConfig) -> Reconciler:
    reconciler = Reconciler(maker, config, {})
    reconciler.providers = build_providers(config, reconciler)
    return reconciler


def reconciler_for(maker: async_sessionmaker[AsyncSession], config: ProvisioningConfig) -> Reconciler:
    """One reconciler (and its HTTP clients and pools) per session maker and configuration."""
    key = (
        id(maker),
        (
            config.scim_base_url,
            config.scim_token,
            config.radius_database_url,
            config.badge_webhook_url,
            config.badge_webhook_secret,
        ),
    )
    if key not in _reconcilers:
        _reconcilers[key] = make_reconciler(maker, config)
    return _reconcilers[key]


async def run_once(maker: async_sessionmaker[AsyncSession], config: ProvisioningConfig) -> dict[str, Any]:
    return await reconciler_for(maker, config).run_once()


async def _listen_connection(maker: async_sessionmaker[AsyncSession]) -> asyncpg.Connection:
    """A connection of its own for LISTEN, opened by the worker's engine (so with the same TLS,
    timeouts and application_name as every other) and detached from its pool: held while the
    worker runs, closed by us. (Closing the SQLAlchemy handle would close it, so it is dropped.)"""
    handle = await maker.kw["bind"].connect()
    raw = await handle.get_raw_connection()
    conn: asyncpg.Connection = raw.driver_connection
    raw.detach()
    return conn


def retry_delay(config: ProvisioningConfig, failures: int) -> float:
    """After `failures` failed passes in a row: base * 2^(failures-1), at most the cap."""
    return float(min(config.pass_retry_cap_seconds, config.pass_retry_base_seconds * 2 ** max(0, failures - 1)))


async def _listener(
    maker: async_sessionmaker[AsyncSession], conn: asyncpg.Connection | None, on_notify: Any, on_lost: Any
) -> asyncpg.Connection | None:
    """The LISTEN connection, (re)opened when needed; None while it cannot be (passes then poll).
    `on_lost` is called when the connection ends (the server restarted, the network cut it)."""
    if conn is not None and not conn.is_closed():
        return conn
    try:
        conn = await _listen_connection(maker)
        await conn.add_listener(CHANNEL, on_notify)
        conn.add_termination_listener(on_lost)
        return conn
    except Exception as exc:
        logger.warning("provisioning listener: cannot listen (%s: %s); polling until it can", type(exc).__name__, exc)
        return None


async def _pause(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    waiters = [asyncio.ensure_future(stop.wait())] + ([asyncio.ensure_future(wake.wait())] if wake else [])
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for p in pending:
        p.cancel()


def pass_report(result: dict[str, Any]) -> dict[str, Any]:
    """What a completed pass could not do, kept in the worker's liveness row for /healthz and /metrics."""
    derived = result.get("derive") or {}
    return {
        "sites_failing": derived.get("sites_failed", []),
        "guard_held": derived.get("guard_held", 0),
        "derived": derived.get("derived", False),
    }


async def run_forever(
    maker: async_sessionmaker[AsyncSession],
    config: ProvisioningConfig,
    stop: asyncio.Event | None = None,
    *,
    reconciler: Reconciler | None = None,
    worker_id: str | None = None,
) -> None:
    """React to lease changes within moments; sweep every `sweep_interval_seconds` regardless.

    Nothing a pass raises ends this loop: the failure is logged with its cause, recorded in the
    worker's liveness row, and the pass is retried after a capped exponential back-off. A pass
    that completes records its time (`worker_liveness.last_pass_at`)."""
    stop = stop or asyncio.Event()
    rec = reconciler or reconciler_for(maker, config)
    liveness = Liveness(maker, "reconciler", worker_id=worker_id, prune_seconds=config.worker_prune_seconds)
    wake = asyncio.Event()
    conn: asyncpg.Connection | None = None
    failures = 0
    # the listener was lost: a NOTIFY sent meanwhile reached no one, so the first pass that has a
    # listener again also sweeps (derive runs on every pass; the sweep checks the targets too)
    relisten = False

    def on_notify(*_: Any) -> None:
        wake.set()

    def on_lost(*_: Any) -> None:
        # wake at once to listen again; waiting for the next sweep (an hour apart, say) would lose
        # every lease change made in between
        nonlocal relisten
        relisten = not stop.is_set()
        wake.set()

    try:
        while not stop.is_set():
            conn = await _listener(maker, conn, on_notify, on_lost)
            wake.clear()
            sweep = True if relisten and conn is not None else None
            relisten = relisten and not sweep  # a loss during this pass asks for another sweep
            try:
                result = await rec.run_once(sweep=sweep)
                # a pass that ran out of budget leaves work due: go again at once
                due = await rec.seconds_until_due()
            except Exception as exc:
                relisten = relisten or bool(sweep)
                failures += 1
                delay = retry_delay(rec.config, failures)
                logger.exception("provisioning pass failed (%d in a row); retrying in %.1f s", failures, delay)
                await liveness.failed(exc)
                await _pause(stop, delay)
                continue
            failures = 0
            await liveness.passed(pass_report(result))
            timeout = rec.config.sweep_interval_seconds if due is None else min(max(due, 0.25), rec.config.sweep_interval_seconds)
            if conn is None:  # no NOTIFY will come: poll
                timeout = min(timeout, 2.0)
            await _pause(stop, timeout, wake)
    finally:
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=5)
            except Exception:
                conn.terminate()
        await liveness.gone()
