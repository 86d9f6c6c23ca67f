"""payments (issue 12): the push of payments recorded here to Stripe, and the held cheques' index

- ``stripe_payment_syncs``: one row per invoice that lives in Stripe and was settled here (bank
  transfer, cheque, cash, credit balance): the worker marks the Stripe invoice paid out of band
  (``stripe.Invoice.pay(paid_out_of_band=True)``), claimed with FOR UPDATE SKIP LOCKED and retried
  with back-off like the invoice push. ``cancelled`` when the invoice is no longer settled before
  the push (a bounced cheque).
- ``ix_payments_held_due``: the worker's pass over post-dated cheques reaching their date.

Revision ID: 0022_payments
Revises: 0021_finance_schema
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_payments"
down_revision: str | Sequence[str] | None = "0021_finance_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stripe_payment_syncs",
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending','synced','failed','cancelled')", name=op.f("ck_stripe_payment_syncs_state")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_stripe_payment_syncs_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_stripe_payment_syncs")),
    )
    op.create_index(
        "ix_stripe_payment_syncs_due",
        "stripe_payment_syncs",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_payments_held_due", "payments", ["paid_on"], postgresql_where=sa.text("status = 'held'"))
    op.create_index("ix_payments_client_currency", "payments", ["client_id", "currency"])


def downgrade() -> None:
    op.drop_index("ix_payments_client_currency", table_name="payments")
    op.drop_index("ix_payments_held_due", table_name="payments")
    op.drop_index("ix_stripe_payment_syncs_due", table_name="stripe_payment_syncs")
    op.drop_table("stripe_payment_syncs")
