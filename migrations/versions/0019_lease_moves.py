"""changes during a term: seat moves (filled by the contracts issue)

Revision ID: 0019_lease_moves
Revises: 0018_proposals
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0019_lease_moves"
down_revision: str | Sequence[str] | None = "0018_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
