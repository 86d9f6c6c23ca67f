"""the help desk: tickets, their history, comments and attachments

- ``tickets``: one problem at a site, about a seat, device, lease and agent (each optional), with its
  category, priority, workflow status, assignee, the first answer and resolution instants, and the SLA's
  stored due instants (domain/helpdesk/sla.py writes them; stored so the queue sorts on an index).
- ``ticket_events``: the history (status, assignment, comment, swap, credit …), ``public`` = the client sees it.
- ``ticket_comments``: comments, ``internal`` = a staff note the client never sees.
- ``ticket_attachments``: a file's bytes in the database or a path in the configured folder, never both.

Revision ID: 0036_helpdesk
Revises: 0035_portal_finance
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0036_helpdesk"
down_revision: str | Sequence[str] | None = "0035_portal_finance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("number", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("seat_id", sa.UUID(), nullable=True),
        sa.Column("device_id", sa.UUID(), nullable=True),
        sa.Column("lease_id", sa.UUID(), nullable=True),
        sa.Column("member_id", sa.UUID(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("raised_by_id", sa.Uuid(), nullable=True),
        sa.Column("raised_by", sa.String(length=320), nullable=False),
        sa.Column("raised_via", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), server_default="", nullable=False),
        sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("category IN ('it','device','network','power','facility','access')", name=op.f("ck_tickets_category")),
        sa.CheckConstraint("priority IN ('urgent','high','normal','low')", name=op.f("ck_tickets_priority")),
        sa.CheckConstraint(
            "status IN ('new','acknowledged','in_progress','waiting_on_client','resolved','closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_tickets_assignee_id_users")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_tickets_client_id_clients")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_tickets_device_id_devices")),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_tickets_lease_id_leases")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_tickets_member_id_members")),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"], name=op.f("fk_tickets_seat_id_seats")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_tickets_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index(op.f("ix_tickets_assignee_id"), "tickets", ["assignee_id"], unique=False)
    op.create_index("ix_tickets_client_id_created_at", "tickets", ["client_id", "created_at"], unique=False)
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"], unique=False)
    op.create_index(op.f("ix_tickets_device_id"), "tickets", ["device_id"], unique=False)
    op.create_index(op.f("ix_tickets_lease_id"), "tickets", ["lease_id"], unique=False)
    op.create_index(op.f("ix_tickets_member_id"), "tickets", ["member_id"], unique=False)
    op.create_index(op.f("ix_tickets_seat_id"), "tickets", ["seat_id"], unique=False)
    op.create_index(op.f("ix_tickets_site_id"), "tickets", ["site_id"], unique=False)
    op.create_index("ix_tickets_status_resolution_due_at", "tickets", ["status", "resolution_due_at"], unique=False)
    op.create_table(
        "ticket_comments",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_comments_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_comments")),
    )
    op.create_index(op.f("ix_ticket_comments_ticket_id"), "ticket_comments", ["ticket_id"], unique=False)
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("public", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"], unique=False)
    op.create_table(
        "ticket_attachments",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("comment_id", sa.UUID(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("storage_path", sa.String(length=500), nullable=True),
        sa.Column("internal", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("(content IS NULL) <> (storage_path IS NULL)", name=op.f("ck_ticket_attachments_one_store")),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["ticket_comments.id"],
            name=op.f("fk_ticket_attachments_comment_id_ticket_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_attachments_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    op.create_index(op.f("ix_ticket_attachments_ticket_id"), "ticket_attachments", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.drop_index(op.f("ix_ticket_events_ticket_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_index(op.f("ix_ticket_comments_ticket_id"), table_name="ticket_comments")
    op.drop_table("ticket_comments")
    op.drop_index("ix_tickets_status_resolution_due_at", table_name="tickets")
    op.drop_index(op.f("ix_tickets_site_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_seat_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_member_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_lease_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_device_id"), table_name="tickets")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_tickets_client_id_created_at", table_name="tickets")
    op.drop_index(op.f("ix_tickets_assignee_id"), table_name="tickets")
    op.drop_table("tickets")
