"""the client portal: invoices, statements, users and keys

(Stub: filled in by the part of issue 14 that owns it; empty until then.)

Revision ID: 0035_portal_finance
Revises: 0034_portal
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0035_portal_finance"
down_revision: str | Sequence[str] | None = "0034_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
