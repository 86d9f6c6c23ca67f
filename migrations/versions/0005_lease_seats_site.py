"""lease_seats carry their site: availability and booking read one site's live rows only

Revision ID: 0005_lease_seats_site
Revises: 0004_booking_perf
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_lease_seats_site"
down_revision: str | Sequence[str] | None = "0004_booking_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every writer of lease_seats (the services, bulk loads, benchmarks) gets the seat's site without
# having to know about it; a seat never moves between sites.
FILL_SITE = (
    """
CREATE FUNCTION lease_seats_fill_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.site_id IS NULL THEN
    SELECT site_id INTO NEW.site_id FROM seats WHERE id = NEW.seat_id;
  END IF;
  RETURN NEW;
END
$$""",
    """
CREATE TRIGGER lease_seats_fill_site BEFORE INSERT ON lease_seats
  FOR EACH ROW EXECUTE FUNCTION lease_seats_fill_site()""",
)


def upgrade() -> None:
    op.add_column("lease_seats", sa.Column("site_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.execute("UPDATE lease_seats ls SET site_id = s.site_id FROM seats s WHERE s.id = ls.seat_id")
    op.alter_column("lease_seats", "site_id", nullable=False)
    op.create_foreign_key(op.f("fk_lease_seats_site_id_sites"), "lease_seats", "sites", ["site_id"], ["id"])
    for statement in FILL_SITE:
        op.execute(statement)
    op.create_index(
        "ix_lease_seats_site_live",
        "lease_seats",
        ["site_id", sa.text("coalesce(end_date, 'infinity'::date)")],
        unique=False,
        postgresql_include=["seat_id", "start_date", "end_date", "window_start_min", "window_end_min", "voided"],
    )
    op.execute("ANALYZE lease_seats")


def downgrade() -> None:
    op.drop_index("ix_lease_seats_site_live", table_name="lease_seats")
    op.execute("DROP TRIGGER IF EXISTS lease_seats_fill_site ON lease_seats")
    op.execute("DROP FUNCTION IF EXISTS lease_seats_fill_site()")
    op.drop_constraint(op.f("fk_lease_seats_site_id_sites"), "lease_seats", type_="foreignkey")
    op.drop_column("lease_seats", "site_id")
