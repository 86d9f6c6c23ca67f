"""documents: what a site's tax is called on its invoices, credit notes and statements

``sites.tax_label`` ("VAT" by default, as every existing site had it printed; "Sales tax", "GST"…):
the totals per tax rate read "VATable sales (12%) / VAT (12%)" or "Taxable sales (Sales tax 8.875%) /
Sales tax (8.875%)". Independent of 0022_payments (nothing here reads or writes payments).

Revision ID: 0023_documents
Revises: 0022_payments
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_documents"
down_revision: str | Sequence[str] | None = "0022_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("tax_label", sa.String(length=32), server_default="VAT", nullable=False))


def downgrade() -> None:
    op.drop_column("sites", "tax_label")
