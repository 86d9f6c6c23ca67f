"""lease terms: each lease keeps its own prices and terms; plan price history; escalation (filled by the contracts issue)

Revision ID: 0016_lease_terms
Revises: 0015_provisioning_speed
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0016_lease_terms"
down_revision: str | Sequence[str] | None = "0015_provisioning_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
