"""A reconciler in a process of its own, for the claim tests: it works off what is due once and
exits. `python -m tests.provisioning.claim_worker DATABASE_URL SCIM_URL TOKEN CLAIM_EXPIRY_SECONDS`

Its SCIM calls carry TOKEN as their bearer token, so the test's SCIM server can tell which worker
made each call. It claims everything due in one batch and makes one call at a time."""

from __future__ import annotations

import asyncio
import sys

from provisioning.config import ProvisioningConfig
from provisioning.worker import make_reconciler
from service.db import make_engine, make_sessionmaker


async def main(database_url: str, scim_url: str, token: str, claim_expiry: float) -> None:
    engine = make_engine(database_url, pool_size=3)
    config = ProvisioningConfig(
        secret_key="claim-worker-" + "x" * 32,  # revocations only: no secret is sealed or read
        scim_base_url=scim_url,
        scim_token=token,
        mass_revoke_share=1.0,
        batch_size=1000,
        concurrency=1,
        parallel_batches=1,
        claim_expiry_seconds=claim_expiry,
        http_timeout_seconds=30.0,
    )
    rec = make_reconciler(make_sessionmaker(engine), config)
    await rec.drain(budget_seconds=120)
    for p in rec.providers.values():
        await p.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
