"""the client portal: leases, seats, agents

(Stub: filled in by the part of issue 14 that owns it; empty until then.)

Revision ID: 0034_portal
Revises: 0033_webhooks
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0034_portal"
down_revision: str | Sequence[str] | None = "0033_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
