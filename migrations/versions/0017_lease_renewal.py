"""notice, early termination, approvals and renewal (filled by the contracts issue)

Leases get their contract term (term_end_date, NULL = rolling; term_start_date, NULL = start_date),
what happens at the term end (renewal_mode manual | auto | lapse) and a rejection reason; one-off
charges and invoice lines get the kind 'termination_fee'.

Revision ID: 0017_lease_renewal
Revises: 0016_lease_terms
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_lease_renewal"
down_revision: str | Sequence[str] | None = "0016_lease_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINE_KINDS = "'seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee','credit_transfer'"


def upgrade() -> None:
    op.add_column("leases", sa.Column("term_end_date", sa.Date(), nullable=True))
    op.add_column("leases", sa.Column("term_start_date", sa.Date(), nullable=True))
    op.add_column("leases", sa.Column("renewal_mode", sa.String(length=8), server_default="manual", nullable=False))
    op.add_column("leases", sa.Column("rejection_reason", sa.String(length=500), nullable=True))
    op.create_index(op.f("ix_leases_term_end_date"), "leases", ["term_end_date"], unique=False)
    op.create_check_constraint(op.f("ck_leases_renewal_mode"), "leases", "renewal_mode IN ('manual','auto','lapse')")
    op.create_check_constraint(op.f("ck_leases_term_dates"), "leases", "term_end_date IS NULL OR term_end_date >= start_date")
    # A lease booked with an end date is fixed-term. One whose end date was set later by an end
    # (notice on a rolling lease: the first 'end_date_set' amendment had no previous end) stays rolling.
    op.execute(
        """UPDATE leases SET term_end_date = end_date
           WHERE end_date IS NOT NULL AND NOT EXISTS (
             SELECT FROM lease_amendments a
             WHERE a.lease_id = leases.id AND a.kind = 'end_date_set' AND a.details->>'previous_end_date' IS NULL)"""
    )

    op.drop_constraint(op.f("ck_one_off_charges_kind"), "one_off_charges", type_="check")
    op.create_check_constraint(
        op.f("ck_one_off_charges_kind"), "one_off_charges", "kind IN ('cancellation_fee','termination_fee')"
    )
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", f"kind IN ({LINE_KINDS},'termination_fee')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", f"kind IN ({LINE_KINDS})")
    op.drop_constraint(op.f("ck_one_off_charges_kind"), "one_off_charges", type_="check")
    op.create_check_constraint(op.f("ck_one_off_charges_kind"), "one_off_charges", "kind IN ('cancellation_fee')")
    op.drop_constraint(op.f("ck_leases_term_dates"), "leases", type_="check")
    op.drop_constraint(op.f("ck_leases_renewal_mode"), "leases", type_="check")
    op.drop_index(op.f("ix_leases_term_end_date"), table_name="leases")
    for column in ("rejection_reason", "renewal_mode", "term_start_date", "term_end_date"):
        op.drop_column("leases", column)
