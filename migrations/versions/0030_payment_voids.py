"""payment voids: the day a payment was voided and whether it had cleared, so the journal reverses a
cleared payment on its void's day instead of rewriting the month it was posted in

A payment voided before this revision keeps NULLs: the journal posts nothing for it, as before (its
day and whether it had cleared are not known).

Revision ID: 0030_payment_voids
Revises: 0029_integrations
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_payment_voids"
down_revision: str | Sequence[str] | None = "0029_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("voided_on", sa.Date(), nullable=True))
    op.add_column("payments", sa.Column("voided_from", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "voided_from")
    op.drop_column("payments", "voided_on")
