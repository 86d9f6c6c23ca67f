"""api polish: sorting and cursors (issue 14)

Lists are sorted the way people read them, on keyset cursors that new rows never shift: seats by
label in natural order ("A-2" before "A-10": `seats.label_key`, computed by PostgreSQL from the label
with `natural_sort_key`, each run of digits padded to 20), leases by start date, invoices by issue date.

Revision ID: 0031_api_polish
Revises: 0030_payment_voids
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_api_polish"
down_revision: str | Sequence[str] | None = "0030_payment_voids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # immutable (a stored generated column needs it): the label's runs of digits padded with zeros
    op.execute(
        """
        CREATE FUNCTION natural_sort_key(label text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(string_agg(CASE WHEN part[1] ~ '^[0-9]' THEN lpad(part[1], 20, '0') ELSE part[1] END, ''
                                       ORDER BY n), '')
            FROM regexp_matches(label, '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS parts(part, n)
        $$
        """
    )
    op.add_column(
        "seats",
        sa.Column(
            "label_key",
            sa.String(400, collation="C"),
            sa.Computed("natural_sort_key(label)", persisted=True),
            nullable=False,
        ),
    )
    op.create_index("ix_seats_site_label_key", "seats", ["site_id", "label_key", "id"])
    op.create_index("ix_leases_start_date_id", "leases", ["start_date", "id"])
    op.create_index("ix_invoices_issue_date_id", "invoices", ["issue_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_invoices_issue_date_id", table_name="invoices")
    op.drop_index("ix_leases_start_date_id", table_name="leases")
    op.drop_index("ix_seats_site_label_key", table_name="seats")
    op.drop_column("seats", "label_key")
    op.execute("DROP FUNCTION natural_sort_key(text)")
