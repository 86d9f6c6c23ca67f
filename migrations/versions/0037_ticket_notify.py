"""the help desk: tickets tell their client (email, the ticket.updated webhook)

Revision ID: 0037_ticket_notify
Revises: 0036_helpdesk
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0037_ticket_notify"
down_revision: str | Sequence[str] | None = "0036_helpdesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
