"""the help desk: device swaps and a device's history

Revision ID: 0039_device_history
Revises: 0038_sla
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0039_device_history"
down_revision: str | Sequence[str] | None = "0038_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
