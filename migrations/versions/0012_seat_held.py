"""seat held: the one rule "this seat is held on day D in window W" as an SQL function (filled by the redesign)

Revision ID: 0012_seat_held
Revises: 0011_strict_input
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0012_seat_held"
down_revision: str | Sequence[str] | None = "0011_strict_input"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
