"""changes during a term: seat moves and dated add-ons

Seat moves (domain/leasing/moves.py): ``lease_seat_moves`` records each seat of a lease moved to
another seat from a date, with the amendment it belongs to; the devices pass marks when it moved the
seat's devices.

Dated add-ons (domain/leasing/addons.py): ``lease_add_ons`` rows get ``start_date`` / ``end_date``
(NULL: the lease's own start or end, which is what every existing row meant). A change of quantity
ends a row and starts another, so one add-on of a lease now has several rows: the unique key on
(lease_id, inclusion_id) gives way to an exclusion constraint that refuses two rows of one add-on
on the same day.

Revision ID: 0019_lease_moves
Revises: 0018_proposals
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_lease_moves"
down_revision: str | Sequence[str] | None = "0018_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lease_seat_moves",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_id", sa.UUID(), nullable=False),
        sa.Column("amendment_id", sa.UUID(), nullable=False),
        sa.Column("from_seat_id", sa.UUID(), nullable=False),
        sa.Column("to_seat_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("devices_moved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("from_seat_id <> to_seat_id", name=op.f("ck_lease_seat_moves_other_seat")),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_lease_seat_moves_lease_id_leases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["amendment_id"],
            ["lease_amendments.id"],
            name=op.f("fk_lease_seat_moves_amendment_id_lease_amendments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["from_seat_id"], ["seats.id"], name=op.f("fk_lease_seat_moves_from_seat_id_seats")),
        sa.ForeignKeyConstraint(["to_seat_id"], ["seats.id"], name=op.f("fk_lease_seat_moves_to_seat_id_seats")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_lease_seat_moves_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lease_seat_moves")),
    )
    op.create_index("ix_lease_seat_moves_lease_id_to_seat_id", "lease_seat_moves", ["lease_id", "to_seat_id"])
    op.create_index(op.f("ix_lease_seat_moves_amendment_id"), "lease_seat_moves", ["amendment_id"])

    op.add_column("lease_add_ons", sa.Column("start_date", sa.Date(), nullable=True))
    op.add_column("lease_add_ons", sa.Column("end_date", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_lease_add_ons_dates"), "lease_add_ons", "start_date IS NULL OR end_date IS NULL OR end_date >= start_date"
    )
    op.drop_constraint(op.f("uq_lease_add_ons_lease_id_inclusion_id"), "lease_add_ons", type_="unique")
    op.execute(
        "ALTER TABLE lease_add_ons ADD CONSTRAINT ex_lease_add_ons_no_overlap EXCLUDE USING gist "
        "(lease_id WITH =, inclusion_id WITH =, daterange(COALESCE(start_date, '-infinity'::date), end_date, '[]') WITH &&)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE lease_add_ons DROP CONSTRAINT ex_lease_add_ons_no_overlap")
    # the dated history folds back into one row per add-on: the latest quantity
    op.execute(
        "DELETE FROM lease_add_ons a USING lease_add_ons b WHERE a.lease_id = b.lease_id AND a.inclusion_id = b.inclusion_id "
        "AND COALESCE(a.start_date, '-infinity'::date) < COALESCE(b.start_date, '-infinity'::date)"
    )
    op.create_unique_constraint(op.f("uq_lease_add_ons_lease_id_inclusion_id"), "lease_add_ons", ["lease_id", "inclusion_id"])
    op.drop_constraint(op.f("ck_lease_add_ons_dates"), "lease_add_ons", type_="check")
    op.drop_column("lease_add_ons", "end_date")
    op.drop_column("lease_add_ons", "start_date")
    op.drop_index(op.f("ix_lease_seat_moves_amendment_id"), table_name="lease_seat_moves")
    op.drop_index("ix_lease_seat_moves_lease_id_to_seat_id", table_name="lease_seat_moves")
    op.drop_table("lease_seat_moves")
