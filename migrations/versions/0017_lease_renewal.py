"""notice, early termination, approvals and renewal (filled by the contracts issue)

Revision ID: 0017_lease_renewal
Revises: 0016_lease_terms
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0017_lease_renewal"
down_revision: str | Sequence[str] | None = "0016_lease_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
