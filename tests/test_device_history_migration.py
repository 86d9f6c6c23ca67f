"""Migration 0039_device_history: every device that exists has a history from the start, one
`created` event at the instant it was added."""

from __future__ import annotations

from typing import Any

from tests.conftest import MigrationDb

SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('DMIG', 'Devices site', 'Asia/Manila', 'PHP', 0.12) RETURNING id)
INSERT INTO devices (serial, kind, site_id, status, created_at)
SELECT 'MIG-' || i, 'pc', s.id, CASE WHEN i = 2 THEN 'in_repair' ELSE 'in_stock' END,
       timestamptz '2030-01-01 00:00Z' + i * interval '1 day'
FROM s, generate_series(1, 3) i
"""


def test_every_existing_device_gets_its_created_event(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0038_sla")
    migration_db.sql(SEED)
    migration_db.upgrade("0039_device_history")
    rows: list[Any] = migration_db.sql(
        "SELECT d.serial, e.kind, e.at = d.created_at AS same"
        " FROM device_events e JOIN devices d ON d.id = e.device_id ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == [("MIG-1", "created", True), ("MIG-2", "created", True), ("MIG-3", "created", True)]
    migration_db.downgrade("0038_sla")
    migration_db.upgrade("heads")
