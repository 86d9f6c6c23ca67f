"""worker liveness: one row per worker loop, written after each pass (read by /healthz and /metrics)

Revision ID: 0010_worker_liveness
Revises: 0009_webhooks_stored
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_worker_liveness"
down_revision: str | Sequence[str] | None = "0009_webhooks_stored"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_liveness",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_pass_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failed_passes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_liveness")),
    )
    op.create_index("ix_worker_liveness_updated_at", "worker_liveness", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_worker_liveness_updated_at", table_name="worker_liveness")
    op.drop_table("worker_liveness")
