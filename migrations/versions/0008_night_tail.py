"""a night shift holds its seat until the morning after its last date; client seat caps, cancellation fees (filled by the trust issue's leasing work)

Revision ID: 0008_night_tail
Revises: 0007_sessions_live
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0008_night_tail"
down_revision: str | Sequence[str] | None = "0007_sessions_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
