"""lease terms: each lease keeps its own prices and terms; plan price history; escalation (filled by the contracts issue)

Revision ID: 0016_lease_terms
Revises: 0015_provisioning_speed
Create Date: 2026-11-30

Existing leases take their plan's current prices (the prices they have been billed at so far), and
their add-ons the inclusion's current unit price; from here on billing reads only the lease's own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_lease_terms"
down_revision: str | Sequence[str] | None = "0015_provisioning_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("notice_days", sa.Integer(), server_default="30", nullable=False))

    op.add_column("leases", sa.Column("monthly_price_minor", sa.BigInteger(), nullable=True))
    op.add_column("leases", sa.Column("setup_fee_minor", sa.BigInteger(), nullable=True))
    op.add_column("leases", sa.Column("deposit_months", sa.Integer(), nullable=True))
    op.add_column("leases", sa.Column("escalation_pct", sa.Numeric(5, 2), nullable=True))
    op.execute(
        """UPDATE leases l SET monthly_price_minor = p.monthly_price_minor, setup_fee_minor = p.setup_fee_minor,
                  deposit_months = p.deposit_months
           FROM plans p WHERE p.id = l.plan_id"""
    )
    for col in ("monthly_price_minor", "setup_fee_minor", "deposit_months"):
        op.alter_column("leases", col, nullable=False)
    op.create_check_constraint(
        op.f("ck_leases_terms"), "leases", "monthly_price_minor >= 0 AND setup_fee_minor >= 0 AND deposit_months >= 0"
    )
    op.create_check_constraint(op.f("ck_leases_escalation"), "leases", "escalation_pct > 0 AND escalation_pct <= 100")

    op.add_column("lease_add_ons", sa.Column("unit_price_minor", sa.BigInteger(), nullable=True))
    op.execute("UPDATE lease_add_ons la SET unit_price_minor = i.unit_price_minor FROM inclusions i WHERE i.id = la.inclusion_id")
    op.alter_column("lease_add_ons", "unit_price_minor", nullable=False)

    op.create_table(
        "plan_prices",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("monthly_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("setup_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("deposit_months", sa.Integer(), nullable=False),
        sa.Column("add_on_prices", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "monthly_price_minor >= 0 AND setup_fee_minor >= 0 AND deposit_months >= 0", name=op.f("ck_plan_prices_amounts")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_prices_plan_id_plans"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_prices")),
        sa.UniqueConstraint("plan_id", "effective_from", name=op.f("uq_plan_prices_plan_id_effective_from")),
    )
    op.create_index(op.f("ix_plan_prices_plan_id"), "plan_prices", ["plan_id"], unique=False)

    op.create_table(
        "lease_price_steps",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_id", sa.UUID(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("monthly_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("monthly_price_minor >= 0", name=op.f("ck_lease_price_steps_price")),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_lease_price_steps_lease_id_leases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lease_price_steps")),
        sa.UniqueConstraint("lease_id", "effective_date", name=op.f("uq_lease_price_steps_lease_id_effective_date")),
    )
    op.create_index(op.f("ix_lease_price_steps_lease_id"), "lease_price_steps", ["lease_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lease_price_steps_lease_id"), table_name="lease_price_steps")
    op.drop_table("lease_price_steps")
    op.drop_index(op.f("ix_plan_prices_plan_id"), table_name="plan_prices")
    op.drop_table("plan_prices")
    op.drop_column("lease_add_ons", "unit_price_minor")
    op.drop_constraint(op.f("ck_leases_escalation"), "leases", type_="check")
    op.drop_constraint(op.f("ck_leases_terms"), "leases", type_="check")
    for col in ("escalation_pct", "deposit_months", "setup_fee_minor", "monthly_price_minor"):
        op.drop_column("leases", col)
    op.drop_column("plans", "notice_days")
