"""collections: the worker's payment-reminder pass and the overdue list read open invoices by due date

A partial index over the invoices still open (``issued``, ``partially_paid``) by due date: the pass runs
on every worker cycle and must not scan every invoice ever issued. Independent of 0022 and 0023
(nothing else here: reminders live in the email outbox of 0020, the exclusion in 0021's
``clients.dunning_excluded``).

Revision ID: 0024_collections
Revises: 0023_documents
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_collections"
down_revision: str | Sequence[str] | None = "0023_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_invoices_open_due",
        "invoices",
        ["due_date"],
        postgresql_where=sa.text("status IN ('issued', 'partially_paid')"),
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_open_due", table_name="invoices")
