"""the client portal: invoices, statements, users and keys

invoices.stripe_hosted_url: the hosted invoice page Stripe returns when it finalizes an invoice,
where the client pays online (the portal's "Pay online"; null until the invoice reaches Stripe).

Revision ID: 0035_portal_finance
Revises: 0034_portal
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_portal_finance"
down_revision: str | Sequence[str] | None = "0034_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("stripe_hosted_url", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "stripe_hosted_url")
