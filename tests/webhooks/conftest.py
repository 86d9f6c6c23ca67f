"""Shared set-up of the webhook tests: targets on localhost allowed, the sender's settings, a drain."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.webhooks.config import WebhookConfig
from domain.webhooks.deliver import deliver_due
from tests.factories import Api
from tests.webhooks.receiver import Receiver


@pytest.fixture
def open_targets(app: FastAPI) -> Iterator[None]:
    """The receiver is plain http on 127.0.0.1: allowed for these tests only (refused by default)."""
    before = app.state.settings
    app.state.settings = before.model_copy(update={"webhook_allow_http": True, "webhook_allow_private_targets": True})
    yield
    app.state.settings = before


@pytest.fixture(autouse=True)
async def _no_endpoints_left(db: asyncpg.Pool) -> AsyncIterator[None]:
    """Each test starts and ends with no endpoint (a facility endpoint hears every client's events)."""
    await db.execute("DELETE FROM webhook_endpoints")
    yield
    await db.execute("DELETE FROM webhook_endpoints")


def sender(app: FastAPI, **kw: Any) -> WebhookConfig:
    base: dict[str, Any] = {"jitter": 0.0, "timeout_seconds": 1.0, "backoff_base_seconds": 60.0, "backoff_cap_seconds": 600.0}
    return dataclasses.replace(app.state.settings.webhooks(), **(base | kw))


async def drain(maker: async_sessionmaker[AsyncSession], config: WebhookConfig, now: datetime | None = None) -> dict[str, int]:
    """Passes until nothing is due at `now`."""
    total = {"delivered": 0, "retry": 0}
    while True:
        report = await deliver_due(maker, config, now=now)
        for k in total:
            total[k] += report[k]
        if report["delivered"] + report["retry"] < config.batch_size:
            return total


async def subscribe(api: Api, rx: Receiver, name: str, types: list[str], **body: Any) -> dict[str, Any]:
    """An endpoint at the receiver's `/hook/<name>`, whose secret the receiver then accepts."""
    ep: dict[str, Any] = await api.post("/v1/webhook-endpoints", {"url": rx.url(name), "event_types": types, **body})
    rx.secrets[f"/hook/{name}"] = [ep["secret"]]
    return ep
