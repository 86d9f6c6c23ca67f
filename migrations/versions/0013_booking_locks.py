"""booking locks: no false refusals under contention (filled by the production issue)

Revision ID: 0013_booking_locks
Revises: 0012_seat_held
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0013_booking_locks"
down_revision: str | Sequence[str] | None = "0012_seat_held"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
