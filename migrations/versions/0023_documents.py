"""documents: a stub of issue 12, filled by the part that owns it (empty until then)

Revision ID: 0023_documents
Revises: 0022_payments
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0023_documents"
down_revision: str | Sequence[str] | None = "0022_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
