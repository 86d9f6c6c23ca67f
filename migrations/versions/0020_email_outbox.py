"""email: the outbox

``email_outbox`` holds every message to send (domain/services/mail.py): written in the transaction
of the change that causes it, with a unique ``dedupe_key`` (queueing the same message twice is a
no-op), its state (pending, sent, failed), attempts and the time of the next one. The sender claims
due pending rows with FOR UPDATE SKIP LOCKED and marks them in the same transaction.
``email_outbox_attachments`` holds their files (a proposal's PDF).

Revision ID: 0020_email_outbox
Revises: 0019_lease_moves
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020_email_outbox"
down_revision: str | Sequence[str] | None = "0019_lease_moves"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.UUID(), nullable=True),
        sa.Column("to_addrs", postgresql.ARRAY(sa.String(length=320)), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('pending','sent','failed')", name=op.f("ck_email_outbox_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_email_outbox_attempts")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_email_outbox_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_email_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_email_outbox_client_id"), "email_outbox", ["client_id"])
    op.create_index(op.f("ix_email_outbox_object_id"), "email_outbox", ["object_id"])
    op.create_index("ix_email_outbox_due", "email_outbox", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "email_outbox_attachments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["email_id"],
            ["email_outbox.id"],
            name=op.f("fk_email_outbox_attachments_email_id_email_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox_attachments")),
    )
    op.create_index(op.f("ix_email_outbox_attachments_email_id"), "email_outbox_attachments", ["email_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_email_outbox_attachments_email_id"), table_name="email_outbox_attachments")
    op.drop_table("email_outbox_attachments")
    op.drop_index("ix_email_outbox_due", table_name="email_outbox")
    op.drop_index(op.f("ix_email_outbox_object_id"), table_name="email_outbox")
    op.drop_index(op.f("ix_email_outbox_client_id"), table_name="email_outbox")
    op.drop_table("email_outbox")
