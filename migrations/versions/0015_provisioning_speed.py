"""provisioning speed: revocations at the speed of the provider (filled by the production issue)

Revision ID: 0015_provisioning_speed
Revises: 0014_billing_speed
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0015_provisioning_speed"
down_revision: str | Sequence[str] | None = "0014_billing_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
