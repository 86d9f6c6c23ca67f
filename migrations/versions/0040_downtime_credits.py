"""the help desk: downtime credits for leased hours lost

- ``ticket_affected_seats``: the seats an outage ticket took down besides its own seat.
- ``downtime_checks``: the outage tickets the credits pass has looked at (as resolved then), so that it
  looks again only after a new resolution or a change of seats.
- ``downtime_credits``: the service credit an outage ticket proposes for one lease (unique per ticket
  and lease: never twice), with its computation (lines per seat and month), the invoice it credits
  and the credit note raised (or ``awaiting_invoice`` until the month's invoice is issued).

Revision ID: 0040_downtime_credits
Revises: 0039_device_history
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0040_downtime_credits"
down_revision: str | Sequence[str] | None = "0039_device_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_affected_seats",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("seat_id", sa.UUID(), nullable=False),
        sa.Column("added_by_id", sa.Uuid(), nullable=True),
        sa.Column("added_by", sa.String(length=320), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"], name=op.f("fk_ticket_affected_seats_seat_id_seats")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_affected_seats_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seat_id", name=op.f("pk_ticket_affected_seats")),
    )
    op.create_index(op.f("ix_ticket_affected_seats_seat_id"), "ticket_affected_seats", ["seat_id"], unique=False)
    op.create_table(
        "downtime_checks",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_downtime_checks_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_downtime_checks")),
    )
    op.create_table(
        "downtime_credits",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("lease_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("site_id", sa.UUID(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("hours_lost", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("credit_note_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_downtime_credits_amount")),
        sa.CheckConstraint("status IN ('awaiting_invoice','credited','no_credit')", name=op.f("ck_downtime_credits_status")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_downtime_credits_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"], name=op.f("fk_downtime_credits_credit_note_id_credit_notes")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_downtime_credits_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_downtime_credits_lease_id_leases")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_downtime_credits_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_downtime_credits_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downtime_credits")),
        sa.UniqueConstraint("ticket_id", "lease_id", name=op.f("uq_downtime_credits_ticket_id_lease_id")),
    )
    op.create_index(op.f("ix_downtime_credits_client_id"), "downtime_credits", ["client_id"], unique=False)
    op.create_index(op.f("ix_downtime_credits_lease_id"), "downtime_credits", ["lease_id"], unique=False)
    op.create_index(op.f("ix_downtime_credits_status"), "downtime_credits", ["status"], unique=False)
    op.create_index(op.f("ix_downtime_credits_ticket_id"), "downtime_credits", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("downtime_credits")
    op.drop_table("downtime_checks")
    op.drop_index(op.f("ix_ticket_affected_seats_seat_id"), table_name="ticket_affected_seats")
    op.drop_table("ticket_affected_seats")
