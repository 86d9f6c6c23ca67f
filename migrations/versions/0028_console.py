"""console: audit filters, approvals with reasons, device paging

The audit page filters by object, action and actor and reads newest first by id: one index per
filter, led by the filter's column and ending in the id, so that `WHERE f = $1 ORDER BY id DESC
LIMIT n` reads n index entries whatever the table's size (the old index on actor_id alone made the
planner sort every event of a busy actor). The time range keeps its index on `at`.

Credit notes waiting for approval can be rejected: who, when and why are kept on the note.

Revision ID: 0028_console
Revises: 0027_people_keys
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_console"
down_revision: str | Sequence[str] | None = "0027_people_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- audit page (issue 13) ---
    op.create_index("ix_audit_events_object_type_id", "audit_events", ["object_type", "object_id", "id"])
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])
    op.create_index("ix_audit_events_actor_label_id", "audit_events", ["actor", "id"])
    op.create_index("ix_audit_events_actor_id_id", "audit_events", ["actor_id", "id"])
    op.drop_index("ix_audit_events_actor_id", table_name="audit_events")
    # --- approvals (issue 13): a rejected credit note keeps who rejected it, when and why ---
    op.add_column("credit_notes", sa.Column("rejected_by", sa.Uuid(), nullable=True))
    op.add_column("credit_notes", sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("credit_notes", sa.Column("rejection_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("credit_notes", "rejection_reason")
    op.drop_column("credit_notes", "rejected_at")
    op.drop_column("credit_notes", "rejected_by")
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.drop_index("ix_audit_events_actor_id_id", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_label_id", table_name="audit_events")
    op.drop_index("ix_audit_events_action_id", table_name="audit_events")
    op.drop_index("ix_audit_events_object_type_id", table_name="audit_events")
