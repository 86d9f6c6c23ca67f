"""live sessions: per-user token version, login throttling (filled by the trust issue's auth work)

Revision ID: 0007_sessions_live
Revises: 0006_merge_heads
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0007_sessions_live"
down_revision: str | Sequence[str] | None = "0006_merge_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
