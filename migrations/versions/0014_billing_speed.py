"""billing speed: a month's run at the speed of the database (filled by the production issue)

Revision ID: 0014_billing_speed
Revises: 0013_booking_locks
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0014_billing_speed"
down_revision: str | Sequence[str] | None = "0013_booking_locks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
