"""one head again: the billing, provisioning and leasing-performance branches meet here

Revision ID: 0006_merge_heads
Revises: 0002_billing, 0002_provisioning, 0005_lease_seats_site
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0006_merge_heads"
down_revision: str | Sequence[str] | None = ("0002_billing", "0002_provisioning", "0005_lease_seats_site")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
