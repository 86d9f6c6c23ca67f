"""api polish: sorting and cursors

(Stub: filled in by the part of issue 14 that owns it; empty until then.)

Revision ID: 0031_api_polish
Revises: 0030_payment_voids
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0031_api_polish"
down_revision: str | Sequence[str] | None = "0030_payment_voids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
