"""people and keys: users, password resets, API credentials

(Stub: filled in by the part of issue 13 that owns it; empty until then.)

Revision ID: 0027_people_keys
Revises: 0026_floor_plan
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0027_people_keys"
down_revision: str | Sequence[str] | None = "0026_floor_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
