"""collections: a stub of issue 12, filled by the part that owns it (empty until then)

Revision ID: 0024_collections
Revises: 0023_documents
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0024_collections"
down_revision: str | Sequence[str] | None = "0023_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
