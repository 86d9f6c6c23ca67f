"""the help desk: SLA policies and clocks

- ``sla_policies``: response and resolution targets (minutes of SLA time) and the "due soon" share per
  priority and category; all 24 rows seeded: urgent 15 min / 4 h, high 1 h / 8 h, normal 4 h / 1 day,
  low 1 day / 5 days, due soon in the last 20 %.
- ``tickets``: the clock's start and the SLA time it stood still, the "due soon" instants, and
  ``sla_next_due_at`` (generated: the response's due instant until answered, then the resolution's),
  indexed for the open tickets the staff's queue walks (``ix_tickets_queue``).

Revision ID: 0038_sla
Revises: 0037_ticket_notify
Create Date: 2026-12-01
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_sla"
down_revision: str | Sequence[str] | None = "0037_ticket_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULTS = {"urgent": (15, 4 * 60), "high": (60, 8 * 60), "normal": (4 * 60, 24 * 60), "low": (24 * 60, 5 * 24 * 60)}
CATEGORIES = ("it", "device", "network", "power", "facility", "access")


def upgrade() -> None:
    policies = op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("due_soon_percent", sa.Integer(), server_default="20", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.String(length=320), server_default="migration", nullable=False),
        sa.Column("updated_by_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('it','device','network','power','facility','access')", name=op.f("ck_sla_policies_category")
        ),
        sa.CheckConstraint("priority IN ('urgent','high','normal','low')", name=op.f("ck_sla_policies_priority")),
        sa.CheckConstraint(
            "response_minutes > 0 AND response_minutes <= resolution_minutes", name=op.f("ck_sla_policies_response_first")
        ),
        sa.CheckConstraint("due_soon_percent BETWEEN 1 AND 90", name=op.f("ck_sla_policies_due_soon_percent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("priority", "category", name=op.f("uq_sla_policies_priority_category")),
    )
    op.bulk_insert(
        policies,
        [
            {
                "id": uuid.uuid4(),
                "priority": p,
                "category": c,
                "response_minutes": r,
                "resolution_minutes": s,
                "due_soon_percent": 20,
                "updated_by": "migration",
            }
            for p, (r, s) in DEFAULTS.items()
            for c in CATEGORIES
        ],
    )
    op.add_column("tickets", sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_paused_seconds", sa.Integer(), server_default="0", nullable=False))
    op.add_column("tickets", sa.Column("response_warn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("resolution_warn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets",
        sa.Column(
            "sla_next_due_at",
            sa.DateTime(timezone=True),
            sa.Computed(
                "COALESCE(CASE WHEN responded_at IS NULL THEN response_due_at ELSE resolution_due_at END, created_at)",
                persisted=True,
            ),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_tickets_queue",
        "tickets",
        ["sla_next_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_queue", table_name="tickets", postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"))
    for column in ("sla_next_due_at", "resolution_warn_at", "response_warn_at", "sla_paused_seconds", "sla_started_at"):
        op.drop_column("tickets", column)
    op.drop_table("sla_policies")
