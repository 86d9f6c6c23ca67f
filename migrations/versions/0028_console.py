"""console: audit filters, approvals with reasons, device paging

(Stub: filled in by the part of issue 13 that owns it; empty until then.)

Revision ID: 0028_console
Revises: 0027_people_keys
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0028_console"
down_revision: str | Sequence[str] | None = "0027_people_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
