"""the help desk: KPIs and the queue's indexes

Revision ID: 0041_helpdesk_kpis
Revises: 0040_downtime_credits
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0041_helpdesk_kpis"
down_revision: str | Sequence[str] | None = "0040_downtime_credits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
