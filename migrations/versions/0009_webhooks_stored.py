# ruff: noqa: E501
"""Stripe events stored first and handled by the worker; credit notes for excess true-ups (filled by the trust issue's billing work)

Revision ID: 0009_webhooks_stored
Revises: 0008_night_tail
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_webhooks_stored"
down_revision: str | Sequence[str] | None = "0008_night_tail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # webhook events: a state row claimed by the worker (events stored before this were handled at once)
    op.add_column("stripe_events", sa.Column("state", sa.String(length=16), server_default="pending", nullable=False))
    op.add_column("stripe_events", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "stripe_events", sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
    )
    op.add_column("stripe_events", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("stripe_events", sa.Column("raw_excerpt", sa.Text(), nullable=True))
    op.alter_column("stripe_events", "payload", nullable=True)
    op.execute("UPDATE stripe_events SET state = 'done' WHERE processed_at IS NOT NULL")
    op.create_check_constraint(op.f("ck_stripe_events_state"), "stripe_events", "state IN ('pending','done','rejected','failed')")
    op.create_index("ix_stripe_events_due", "stripe_events", ["next_attempt_at"], postgresql_where=sa.text("state = 'pending'"))

    # excess true-up credit: a transfer line on the invoice, a 'trueup' credit note against the corrected invoice
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        op.f("ck_invoice_lines_kind"),
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee','credit_transfer')",
    )
    op.drop_constraint(op.f("ck_credit_notes_kind"), "credit_notes", type_="check")
    op.create_check_constraint(op.f("ck_credit_notes_kind"), "credit_notes", "kind IN ('manual','deposit_refund','trueup')")
    # NOT VALID: invoices issued before this revision stay as they were (never edited); new ones are checked
    op.execute(
        "ALTER TABLE invoices ADD CONSTRAINT ck_invoices_total_not_negative "
        "CHECK (status = 'draft' OR total_minor >= 0) NOT VALID"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_invoices_total_not_negative"), "invoices", type_="check")
    op.drop_constraint(op.f("ck_credit_notes_kind"), "credit_notes", type_="check")
    op.create_check_constraint(op.f("ck_credit_notes_kind"), "credit_notes", "kind IN ('manual','deposit_refund')")
    op.drop_constraint(op.f("ck_invoice_lines_kind"), "invoice_lines", type_="check")
    op.create_check_constraint(
        op.f("ck_invoice_lines_kind"),
        "invoice_lines",
        "kind IN ('seat','addon','addon_one_time','inclusion','setup_fee','deposit','discount','cancellation_fee')",
    )
    op.drop_index("ix_stripe_events_due", table_name="stripe_events")
    op.drop_constraint(op.f("ck_stripe_events_state"), "stripe_events", type_="check")
    op.execute("DELETE FROM stripe_events WHERE payload IS NULL")
    op.alter_column("stripe_events", "payload", nullable=False)
    for column in ("raw_excerpt", "last_error", "next_attempt_at", "attempts", "state"):
        op.drop_column("stripe_events", column)
