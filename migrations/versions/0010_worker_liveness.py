"""worker liveness, site-isolated passes, business-event revocations (filled by the trust issue's provisioning work)

Revision ID: 0010_worker_liveness
Revises: 0009_webhooks_stored
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0010_worker_liveness"
down_revision: str | Sequence[str] | None = "0009_webhooks_stored"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
