"""Migration 0026_floor_plan: seat positions become places on the floor. Existing seats move to
where the old map drew them (zones by name side by side, wrapping at 36 columns, a free row above
each band), so no two seats of a floor share a cell and each zone keeps its shape."""

from __future__ import annotations

from tests.conftest import MigrationDb

SEED = """
WITH s AS (INSERT INTO sites (code, name, timezone, currency, tax_rate)
           VALUES ('MIGF', 'Migration site', 'Asia/Manila', 'PHP', 0.12) RETURNING id),
f AS (INSERT INTO floors (site_id, name, level) SELECT id, '1F', 1 FROM s RETURNING id, site_id)
INSERT INTO seats (site_id, floor_id, zone, label, x, y)
SELECT f.site_id, f.id, z.zone, z.zone || '-' || i, i % z.cols, i / z.cols
FROM f, (VALUES ('A', 10, 20), ('B', 20, 20), ('C', 8, 16)) AS z(zone, cols, n), generate_series(0, 99) AS i
WHERE i < z.n
"""


def test_existing_seats_move_to_where_the_map_drew_them(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0025_setup_pages")
    migration_db.sql(SEED)
    before = {r["label"]: (r["x"], r["y"]) for r in migration_db.sql("SELECT label, x, y FROM seats")}
    assert len(set(before.values())) < len(before)  # per zone: the zones' cells overlap
    migration_db.upgrade("0026_floor_plan")
    after = {r["label"]: (r["x"], r["y"]) for r in migration_db.sql("SELECT label, x, y FROM seats")}
    assert len(set(after.values())) == len(after)  # one seat a cell
    # A (10 wide) at column 0, B (20 wide) after an aisle at column 11; C (8) would pass 36: next band,
    # below B's two rows and a free row for the zone's name
    assert after["A-0"] == (0, 0)
    assert after["B-0"] == (11, 0)
    assert after["C-0"] == (0, 3)
    for label, (x, y) in before.items():  # each zone moved as one block
        zone = label.split("-")[0]
        dx, dy = after[f"{zone}-0"]
        assert after[label] == (x + dx, y + dy)
