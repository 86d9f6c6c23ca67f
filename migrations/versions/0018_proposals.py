"""proposals and holds: seats held until an expiry (filled by the contracts issue)

Revision ID: 0018_proposals
Revises: 0017_lease_renewal
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0018_proposals"
down_revision: str | Sequence[str] | None = "0017_lease_renewal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
