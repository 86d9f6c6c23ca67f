"""Migration 0025_setup_pages: every zone the seats already use becomes a named zone of its floor
(named as its code), once per floor, so the floor pages show every zone the seat map draws."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import MigrationDb

SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('ZMIG', 'Zones site', 'Asia/Manila', 'PHP', 0.12) RETURNING id),
f AS (INSERT INTO floors (site_id, name, level) SELECT id, n, l FROM s, (VALUES ('1F', 1), ('2F', 2)) v(n, l)
      RETURNING id, site_id, name)
INSERT INTO seats (site_id, floor_id, zone, label, x, y)
SELECT f.site_id, f.id, z, f.name || '-' || z || '-' || i, i, 0
FROM f, (VALUES ('A'), ('B')) zz(z), generate_series(1, 3) i
WHERE f.name = '1F' OR z = 'A'
"""


def test_the_seats_zones_become_named_zones_of_their_floors(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0024_collections")
    migration_db.sql(SEED)
    migration_db.upgrade("0025_setup_pages")
    rows: list[Any] = migration_db.sql(
        "SELECT f.name AS floor, z.code, z.name FROM zones z JOIN floors f ON f.id = z.floor_id ORDER BY 1, 2"
    )
    assert [tuple(r) for r in rows] == [("1F", "A", "A"), ("1F", "B", "B"), ("2F", "A", "A")]
    migration_db.downgrade("0024_collections")
    migration_db.upgrade("heads")


def test_the_demo_names_its_floors_zones(server_url: str) -> None:
    """`seatlease up` with demo data opens on floors whose zones have names, not bare codes."""
    from sqlalchemy import select

    from domain.models import Floor
    from domain.services.catalog import list_zones
    from service.db import make_engine, make_sessionmaker
    from service.demo import seed_demo
    from service.migrate import upgrade
    from tests.conftest import create_database, drop_database

    async def scenario(url: str) -> list[tuple[str, str, int]]:
        engine = make_engine(url, pool_size=1)
        try:
            maker = make_sessionmaker(engine)
            async with maker() as session, session.begin():
                await seed_demo(session)
            async with maker() as session:
                floor = (await session.scalars(select(Floor).where(Floor.name == "12F"))).one()
                return [(z.code, z.name, z.seats) for z in await list_zones(session, floor.id)]
        finally:
            await engine.dispose()

    name = f"demozones_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name)
    try:
        upgrade(url)
        zones = asyncio.run(scenario(url))
        assert zones == [("A", "A — Inbound voice", 24), ("B", "B — Outbound sales", 24), ("C", "C — Chat and email", 24)]
    finally:
        drop_database(server_url, name)
