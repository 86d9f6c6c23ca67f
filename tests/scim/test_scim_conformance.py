"""The `scim2-tester` checker (PyPI) drives a client's SCIM endpoint over HTTP: every check passes."""

from __future__ import annotations

import asyncio

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.factories import Api
from tests.scim.conftest import scim_client


async def test_scim2_tester_passes_every_check(staff: Api, admin: Api, scim_server: str) -> None:
    c = await scim_client(staff, admin, scim_server)

    def run() -> list[object]:
        with httpx2.Client(base_url=c.base, headers={"Authorization": f"Bearer {c.token}"}, timeout=30) as http:
            return list(check_server(SyncSCIMClient(http)))

    results = await asyncio.to_thread(run)
    failed = [r for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]  # type: ignore[attr-defined]
    report = "\n".join(f"{r.status.name} {r.title} [{r.resource_type}]: {r.reason}" for r in failed)  # type: ignore[attr-defined]
    assert not failed, report
    assert sum(r.status == Status.SUCCESS for r in results) > 40  # type: ignore[attr-defined]
    skipped = [(r.title, r.reason) for r in results if r.status == Status.SKIPPED]  # type: ignore[attr-defined]
    assert not skipped, skipped
