"""integrations: provisioning visible from the first start

A mass-revocation guard can be rejected (status `rejected`: the held credentials stay as they are,
and the same drift is not asked about again), and says which targets it holds credentials of
(`by_kind`, e.g. {"directory": 30, "wifi": 30}).

Revision ID: 0029_integrations
Revises: 0028_console
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029_integrations"
down_revision: str | Sequence[str] | None = "0028_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "revocation_guards",
        sa.Column("by_kind", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column("revocation_guards", sa.Column("rejected_by", sa.Uuid(), nullable=True))
    op.add_column("revocation_guards", sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("revocation_guards", sa.Column("reason", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_revocation_guards_status"), "revocation_guards", type_="check")
    op.create_check_constraint(
        op.f("ck_revocation_guards_status"),
        "revocation_guards",
        "status IN ('pending','confirmed','consumed','dismissed','rejected')",
    )


def downgrade() -> None:
    op.execute("UPDATE revocation_guards SET status = 'dismissed' WHERE status = 'rejected'")
    op.drop_constraint(op.f("ck_revocation_guards_status"), "revocation_guards", type_="check")
    op.create_check_constraint(
        op.f("ck_revocation_guards_status"),
        "revocation_guards",
        "status IN ('pending','confirmed','consumed','dismissed')",
    )
    for column in ("reason", "rejected_at", "rejected_by", "by_kind"):
        op.drop_column("revocation_guards", column)
