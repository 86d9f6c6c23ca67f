"""leasing performance: the live-rows index for availability

Availability and seat-count booking ask "which seats have a live lease_seats row overlapping
these dates and this shift window". Past rows (ended leases) are the bulk of the table; this
index finds the rows still running on or after a date (open-ended rows sort as 'infinity')
and carries every column the test needs, so the search reads the index alone. It is not
partial, so ANALYZE keeps statistics on its expression and the planner estimates the live
rows well (with a guess it picked a nested loop over the whole site: seconds at 20,000 seats).

Revision ID: 0003_leasing_perf
Revises: 0001
Create Date: 2026-11-22 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_leasing_perf"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_lease_seats_live_until",
        "lease_seats",
        [sa.text("coalesce(end_date, 'infinity'::date)")],
        unique=False,
        postgresql_include=["seat_id", "start_date", "end_date", "window_start_min", "window_end_min", "voided"],
    )
    # statistics of the new expression now rather than at the next autovacuum
    op.execute("ANALYZE lease_seats")


def downgrade() -> None:
    op.drop_index("ix_lease_seats_live_until", table_name="lease_seats")
