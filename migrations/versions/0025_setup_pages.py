"""set-up pages: sites, floors, zones, shifts, plans

(Stub: filled in by the part of issue 13 that owns it; empty until then.)

Revision ID: 0025_setup_pages
Revises: 0024_collections
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0025_setup_pages"
down_revision: str | Sequence[str] | None = "0024_collections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
