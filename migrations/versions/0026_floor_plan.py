"""floor-plan editor: seat positions, retire, floor background

(Stub: filled in by the part of issue 13 that owns it; empty until then.)

Revision ID: 0026_floor_plan
Revises: 0025_setup_pages
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0026_floor_plan"
down_revision: str | Sequence[str] | None = "0025_setup_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
