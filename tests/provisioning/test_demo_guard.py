"""Ending one client's leases in the demo data (`seatlease up`) revokes their access with no guard."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, text

from domain.leasing import lifecycle as leases
from domain.models import Client, Lease
from domain.services.audit import SystemActor
from domain.services.catalog import get_site, site_today
from provisioning.desired import derive
from service.db import make_engine, make_sessionmaker
from service.demo import seed_demo
from service.migrate import upgrade
from service.settings import Settings
from tests.conftest import create_database, drop_database


def test_ending_one_clients_leases_in_the_demo_trips_nothing(server_url: str, app: FastAPI) -> None:
    name = f"demo_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name)
    try:
        upgrade(url)
        asyncio.run(_scenario(url, app.state.settings))
    finally:
        drop_database(server_url, name)


async def _scenario(url: str, settings: Settings) -> None:
    engine = make_engine(url, pool_size=2)
    maker = make_sessionmaker(engine)
    targets = {
        "scim_base_url": "http://127.0.0.1:9/v2",
        "badge_webhook_url": "http://127.0.0.1:9/badges",
        "badge_webhook_secret": "whsec-demo",
        "radius_database_url": url,
    }
    defaults = settings.model_copy(update=targets).provisioning()
    # the strictest share there is, above the shipped floor of 20 (if this trips nothing, the defaults
    # trip nothing); then the shipped defaults
    configs = [
        settings.model_copy(update={**targets, "prov_drift_guard_share": 0.000001}).provisioning(),
        defaults,
    ]
    assert defaults.enabled_kinds == ["directory", "badge", "wifi"]
    try:
        async with maker() as session, session.begin():
            await seed_demo(session)
        async with maker() as session, session.begin():
            granted = await derive(session, defaults)
        assert granted.granted > 0
        assert not granted.sites_failed
        async with maker() as session, session.begin():
            client = (await session.scalars(select(Client).order_by(Client.legal_name))).first()
            assert client is not None
            ending = list(
                (await session.scalars(select(Lease).where(Lease.client_id == client.id, Lease.status == "active"))).all()
            )
            assert ending
            for lease in ending:
                today = site_today(await get_site(session, lease.site_id))
                await leases.end_lease(session, SystemActor("demo-test"), lease, today - timedelta(days=1), is_staff=True)
            before = int(
                await session.scalar(text("SELECT count(*) FROM credentials WHERE desired AND client_id = :c"), {"c": client.id})
                or 0
            )
        assert before >= defaults.mass_revoke_min, "enough to reach the guard's floor"
        for config in configs:
            async with maker() as session, session.begin():
                out = await derive(session, config)
            assert out.guard_held == 0
            assert out.drifted == 0
        async with maker() as session:
            assert (
                await session.scalar(text("SELECT count(*) FROM credentials WHERE desired AND client_id = :c"), {"c": client.id})
                == 0
            )
            assert (
                await session.scalar(
                    text("SELECT count(*) FROM credentials WHERE NOT desired AND client_id = :c"), {"c": client.id}
                )
                == before
            )
            assert await session.scalar(text("SELECT count(*) FROM revocation_guards")) == 0
            assert await session.scalar(text("SELECT count(*) FROM credentials WHERE desired")) > 0, "others keep theirs"
    finally:
        await engine.dispose()
