"""integrations: provisioning visible from the first start

(Stub: filled in by the part of issue 13 that owns it; empty until then.)

Revision ID: 0029_integrations
Revises: 0028_console
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0029_integrations"
down_revision: str | Sequence[str] | None = "0028_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
