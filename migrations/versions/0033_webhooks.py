"""signed outbound webhooks and their delivery log

(Stub: filled in by the part of issue 14 that owns it; empty until then.)

Revision ID: 0033_webhooks
Revises: 0032_client_scim
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0033_webhooks"
down_revision: str | Sequence[str] | None = "0032_client_scim"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
