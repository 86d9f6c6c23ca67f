"""Stripe events stored first and handled by the worker; credit notes for excess true-ups (filled by the trust issue's billing work)

Revision ID: 0009_webhooks_stored
Revises: 0008_night_tail
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0009_webhooks_stored"
down_revision: str | Sequence[str] | None = "0008_night_tail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
