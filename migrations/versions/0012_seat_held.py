"""seat held: the one rule "this seat is held on day D in window W" as an SQL function

``seat_held(g_start, g_end, g_lo, g_hi, s, e, a, b)``: the stored occupancy segment (a row of
lease_seat_segments: minutes [g_lo, g_hi) of every date in [g_start, g_end], NULL end = open)
holds a minute that a lease of the daily window [a, b) on the dates s..e (NULL e = open) would
hold. A window with a = b is the whole day. The asked lease's parts are those of
``lease_seat_segments_of`` (migration 0008_night_tail): its window on its dates and, for a night
shift, the next mornings' tail; ``tests/leasing/test_seat_held.py`` checks the two agree on every
kind of window and term.

Written as one boolean expression (no sub-query) so that PostgreSQL inlines it into the caller's
query: availability keeps its index range scan and the constant windows fold at plan time.
Every reader calls it through domain/models/held.py: availability, the seat map, occupancy,
provisioning's desired state and devices, the lease-state pass and the billing run.

Revision ID: 0012_seat_held
Revises: 0011_strict_input
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_seat_held"
down_revision: str | Sequence[str] | None = "0011_strict_input"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEAT_HELD = """
CREATE FUNCTION seat_held(g_start date, g_end date, g_lo integer, g_hi integer,
                          s date, e date, a integer, b integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (g_start <= coalesce(e, 'infinity'::date) AND coalesce(g_end, 'infinity'::date) >= s
          AND g_lo < CASE WHEN a < b THEN b ELSE 1440 END
          AND g_hi > CASE WHEN a = b THEN 0 ELSE a END)
      OR (a > b AND b > 0
          AND g_start <= coalesce(e, 'infinity'::date) + 1 AND coalesce(g_end, 'infinity'::date) >= s + 1
          AND g_lo < b AND g_hi > 0)
$$"""


def upgrade() -> None:
    op.execute(SEAT_HELD)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS seat_held(date, date, integer, integer, date, date, integer, integer)")
