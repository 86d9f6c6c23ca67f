"""booking performance: per-seat live rows, seats by zone

A seat-count booking counts the free seats per zone of the site, then reads the free seats
of one or a few zones only (domain/services/leases.py ``free_zone_seats``). That read tests
each seat of the zone against its own live rows: this partial index answers "the live rows
of this seat still running on or after a date" from the index alone, instead of an
anti-join over the live rows of every site. The seats of a zone are found by (floor, zone).

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
        "ix_lease_seats_seat_live",
        "lease_seats",
        ["seat_id", sa.text("coalesce(end_date, 'infinity'::date)")],
        unique=False,
        postgresql_include=["start_date", "window_start_min", "window_end_min"],
        postgresql_where=sa.text("NOT voided"),
    )
    op.create_index("ix_seats_floor_id_zone", "seats", ["floor_id", "zone"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_seats_floor_id_zone", table_name="seats")
    op.drop_index("ix_lease_seats_seat_live", table_name="lease_seats")
