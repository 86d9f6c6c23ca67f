"""a night shift holds its seat until the morning after its last date; client seat caps, cancellation fees

Rule 1 (PRODUCT.md): a shift that crosses midnight belongs to the date it starts and holds the
seat until it ends the next morning, after the lease's last date too. The old exclusion constraint
on lease_seats folded NIGHT 21:00-06:00 onto every date of the term ([0,360) + [1260,1440) of each
date): it let FULL start the morning a NIGHT lease's last night was still running, and refused
an early-morning lease on the morning of a NIGHT lease's first date, which no night holds.

Each live lease_seats row is now kept as at most two occupancy segments (domain/rules/shifts.py
``occupancy_segments``), a (date range, one minute range) product each: the window on the row's
own dates, and for a window that crosses midnight the morning tail [0, end) on the dates shifted
by one. Statement triggers on lease_seats keep table lease_seat_segments in step (insert, any
update, delete by cascade), and its exclusion constraint refuses two overlapping segments of one
seat: SQLSTATE 23P01 as before, raised by the very INSERT/UPDATE of lease_seats, so it holds under
concurrency. Availability reads the same table (domain/services/leases.py ``_conflicting_rows``).

Existing rows are converted; if two live rows already conflict under the exact rule the upgrade
stops and names them (nothing is dropped silently).

Also: clients.seat_cap (the most seats a client's own bookings may hold; NULL = the setting) and
one_off_charges (cancellation fees billed on the next invoice), and invoice line kind
'cancellation_fee'.

Revision ID: 0008_night_tail
Revises: 0007_sessions_live
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_night_tail"
down_revision: str | Sequence[str] | None = "0007_sessions_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENTS_OF = """
CREATE FUNCTION lease_seat_segments_of(s date, e date, a integer, b integer)
RETURNS TABLE (start_date date, end_date date, win_lo integer, win_hi integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT s, e, CASE WHEN a = b THEN 0 ELSE a END, CASE WHEN a < b THEN b ELSE 1440 END
  UNION ALL
  SELECT s + 1, e + 1, 0, b WHERE a > b AND b > 0
$$"""

_INSERT_FROM_NEW = """
  INSERT INTO lease_seat_segments (lease_seat_id, seat_id, site_id, start_date, end_date, win_lo, win_hi)
  SELECT n.id, n.seat_id, n.site_id, g.start_date, g.end_date, g.win_lo, g.win_hi
  FROM new_rows n
  CROSS JOIN LATERAL lease_seat_segments_of(n.start_date, n.end_date, n.window_start_min, n.window_end_min) g
  WHERE NOT n.voided;"""

TRIGGERS = (
    f"""
CREATE FUNCTION lease_seats_segments_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_INSERT_FROM_NEW}
  RETURN NULL;
END
$$""",
    f"""
CREATE FUNCTION lease_seats_segments_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM lease_seat_segments WHERE lease_seat_id IN (SELECT id FROM old_rows);{_INSERT_FROM_NEW}
  RETURN NULL;
END
$$""",
    """
CREATE TRIGGER lease_seats_segments_insert AFTER INSERT ON lease_seats
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lease_seats_segments_insert()""",
    """
CREATE TRIGGER lease_seats_segments_update AFTER UPDATE ON lease_seats
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lease_seats_segments_update()""",
)

CONFLICTS = """
SELECT a.lease_seat_id AS a_row, b.lease_seat_id AS b_row, la.lease_id AS a_lease, lb.lease_id AS b_lease,
       s.label, greatest(a.start_date, b.start_date) AS first_day
FROM lease_seat_segments a
JOIN lease_seat_segments b
  ON b.seat_id = a.seat_id AND b.lease_seat_id > a.lease_seat_id
 AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
 AND int4range(a.win_lo, a.win_hi) && int4range(b.win_lo, b.win_hi)
JOIN lease_seats la ON la.id = a.lease_seat_id
JOIN lease_seats lb ON lb.id = b.lease_seat_id
JOIN seats s ON s.id = a.seat_id
ORDER BY s.label, first_day
LIMIT 20"""


def upgrade() -> None:
    op.create_table(
        "lease_seat_segments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("lease_seat_id", sa.UUID(), nullable=False),
        sa.Column("seat_id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("win_lo", sa.Integer(), nullable=False),
        sa.Column("win_hi", sa.Integer(), nullable=False),
        sa.CheckConstraint("0 <= win_lo AND win_lo < win_hi AND win_hi <= 1440", name=op.f("ck_lease_seat_segments_window")),
        sa.ForeignKeyConstraint(
            ["lease_seat_id"],
            ["lease_seats.id"],
            name=op.f("fk_lease_seat_segments_lease_seat_id_lease_seats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lease_seat_segments")),
    )
    op.create_index(op.f("ix_lease_seat_segments_lease_seat_id"), "lease_seat_segments", ["lease_seat_id"])
    op.execute(SEGMENTS_OF)
    op.execute(
        "INSERT INTO lease_seat_segments (lease_seat_id, seat_id, site_id, start_date, end_date, win_lo, win_hi) "
        "SELECT ls.id, ls.seat_id, ls.site_id, g.start_date, g.end_date, g.win_lo, g.win_hi FROM lease_seats ls "
        "CROSS JOIN LATERAL lease_seat_segments_of(ls.start_date, ls.end_date, ls.window_start_min, "
        "ls.window_end_min) g WHERE NOT ls.voided"
    )
    conflicts = op.get_bind().execute(sa.text(CONFLICTS)).all()
    if conflicts:
        listed = "; ".join(
            f"seat {r.label} from {r.first_day}: lease {r.a_lease} (lease_seats {r.a_row}) and lease {r.b_lease} "
            f"(lease_seats {r.b_row})"
            for r in conflicts
        )
        raise RuntimeError(
            "0008_night_tail: live lease_seats rows already hold the same seat at the same time once a night "
            f"shift holds its seat until the next morning; end, release or void one of each pair first: {listed}"
        )
    op.execute(
        "ALTER TABLE lease_seat_segments ADD CONSTRAINT ex_lease_seat_segments_no_double_booking "
        "EXCLUDE USING gist (seat_id WITH =, daterange(start_date, end_date, '[]') WITH &&, "
        "int4range(win_lo, win_hi) WITH &&)"
    )
    # availability: one site's segments still running on or after a date, from the index alone
    op.create_index(
        "ix_lease_seat_segments_site_live",
        "lease_seat_segments",
        ["site_id", sa.text("coalesce(end_date, 'infinity'::date)")],
        postgresql_include=["seat_id", "start_date", "end_date", "win_lo", "win_hi"],
    )
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute("ALTER TABLE lease_seats DROP CONSTRAINT ex_lease_seats_no_double_booking")
    # availability reads the segments now: the covering indexes of lease_seats only slowed its inserts
    op.drop_index("ix_lease_seats_live_until", table_name="lease_seats")
    op.drop_index("ix_lease_seats_site_live", table_name="lease_seats")
    op.execute("ANALYZE lease_seat_segments")

    op.add_column("clients", sa.Column("seat_cap", sa.Integer(), nullable=True))
    op.create_check_constraint(op.f("ck_clients_seat_cap"), "clients", "seat_cap IS NULL OR seat_cap >= 0")

    op.create_table(
        "one_off_charges",
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("lease_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("charge_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("waived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waived_by", sa.UUID(), nullable=True),
        sa.Column("waive_reason", sa.String(length=500), nullable=True),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_one_off_charges_amount")),
        sa.CheckConstraint("kind IN ('cancellation_fee')", name=op.f("ck_one_off_charges_kind")),
        sa.CheckConstraint("waived_at IS NULL OR invoice_id IS NULL", name=op.f("ck_one_off_charges_waived_or_billed")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_one_off_charges_client_id_clients")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_one_off_charges_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_one_off_charges_lease_id_leases")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_one_off_charges_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_off_charges")),
        sa.UniqueConstraint("lease_id", "kind", name=op.f("uq_one_off_charges_lease_id_kind")),
    )
    op.create_index(op.f("ix_one_off_charges_client_id"), "one_off_charges", ["client_id"])
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        op.f("ck_invoice_lines_kind"),
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        op.f("ck_invoice_lines_kind"),
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount')",
    )
    op.drop_index(op.f("ix_one_off_charges_client_id"), table_name="one_off_charges")
    op.drop_table("one_off_charges")
    op.drop_constraint(op.f("ck_clients_seat_cap"), "clients", type_="check")
    op.drop_column("clients", "seat_cap")
    live_cols = ["seat_id", "start_date", "end_date", "window_start_min", "window_end_min", "voided"]
    op.create_index(
        "ix_lease_seats_live_until",
        "lease_seats",
        [sa.text("coalesce(end_date, 'infinity'::date)")],
        postgresql_include=live_cols,
    )
    op.create_index(
        "ix_lease_seats_site_live",
        "lease_seats",
        ["site_id", sa.text("coalesce(end_date, 'infinity'::date)")],
        postgresql_include=live_cols,
    )
    op.execute(
        "ALTER TABLE lease_seats ADD CONSTRAINT ex_lease_seats_no_double_booking "
        "EXCLUDE USING gist (seat_id WITH =, daterange(start_date, end_date, '[]') WITH &&, "
        "seat_window(window_start_min, window_end_min) WITH &&) WHERE (NOT voided)"
    )
    op.execute("DROP TRIGGER IF EXISTS lease_seats_segments_update ON lease_seats")
    op.execute("DROP TRIGGER IF EXISTS lease_seats_segments_insert ON lease_seats")
    op.execute("DROP FUNCTION IF EXISTS lease_seats_segments_update()")
    op.execute("DROP FUNCTION IF EXISTS lease_seats_segments_insert()")
    op.drop_table("lease_seat_segments")
    op.execute("DROP FUNCTION IF EXISTS lease_seat_segments_of(date, date, integer, integer)")
