"""strict input: site time zones PostgreSQL accepts (filled by the trust issue's input work)

Revision ID: 0011_strict_input
Revises: 0010_worker_liveness
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0011_strict_input"
down_revision: str | Sequence[str] | None = "0010_worker_liveness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
