"""the help desk: SLA policies and clocks

Revision ID: 0038_sla
Revises: 0037_ticket_notify
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0038_sla"
down_revision: str | Sequence[str] | None = "0037_ticket_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
