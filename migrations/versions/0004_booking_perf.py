"""booking performance: the site's seats for the free-seat count, from the index alone

A seat-count booking reads the free seats of the site once, one row per zone with arrays
(domain/services/leases.py ``free_zones``): a hash anti-join of the site's seats against the
live lease_seats rows (index ix_lease_seats_live_until). This partial index gives the seats
side of that join (the site's active seats: id, zone, map position, label) without visiting
the table; the query writes 'active' as a literal so that the planner can use it.

Revision ID: 0004_booking_perf
Revises: 0003_leasing_perf
Create Date: 2026-11-22 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_booking_perf"
down_revision: str | Sequence[str] | None = "0003_leasing_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_seats_site_id_map",
        "seats",
        ["site_id"],
        unique=False,
        postgresql_include=["id", "floor_id", "zone", "x", "y", "label"],
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_seats_site_id_map", table_name="seats")
