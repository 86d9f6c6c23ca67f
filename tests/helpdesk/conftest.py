"""The help desk's tests start from the SLA targets migration 0038 seeds: the targets are one table
for the whole test database, and other tests (the admin's page, the API's schemathesis run) edit them."""

from __future__ import annotations

import asyncpg
import pytest

DEFAULTS = {"urgent": (15, 4 * 60), "high": (60, 8 * 60), "normal": (4 * 60, 24 * 60), "low": (24 * 60, 5 * 24 * 60)}


async def reset_sla_policies(db: asyncpg.Pool) -> None:
    for priority, (response, resolution) in DEFAULTS.items():
        await db.execute(
            "UPDATE sla_policies SET response_minutes = $2, resolution_minutes = $3, due_soon_percent = 20"
            " WHERE priority = $1 AND (response_minutes, resolution_minutes, due_soon_percent) <> ($2, $3, 20)",
            priority,
            response,
            resolution,
        )


@pytest.fixture(autouse=True)
async def _default_sla_policies(db: asyncpg.Pool) -> None:
    await reset_sla_policies(db)
