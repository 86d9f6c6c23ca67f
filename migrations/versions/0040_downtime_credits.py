"""the help desk: downtime credits for leased hours lost

Revision ID: 0040_downtime_credits
Revises: 0039_device_history
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0040_downtime_credits"
down_revision: str | Sequence[str] | None = "0039_device_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
