"""the help desk: KPIs and the queue's indexes

Revision ID: 0041_helpdesk_kpis
Revises: 0040_downtime_credits
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041_helpdesk_kpis"
down_revision: str | Sequence[str] | None = "0040_downtime_credits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# domain/helpdesk/kpis.py: the summary reads the tickets created, first answered or resolved in a period
# (a BitmapOr of three range scans: created_at's index is 0036's), the incidents those whose fault began
# in it; the first two partial: no reader looks for a NULL there
_PARTIAL = (("ix_tickets_responded_at", "responded_at"), ("ix_tickets_resolved_at", "resolved_at"))


def upgrade() -> None:
    for name, column in _PARTIAL:
        op.create_index(name, "tickets", [column], postgresql_where=sa.text(f"{column} IS NOT NULL"))
    op.create_index("ix_tickets_occurred_at", "tickets", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_occurred_at", table_name="tickets")
    for name, _ in reversed(_PARTIAL):
        op.drop_index(name, table_name="tickets")
