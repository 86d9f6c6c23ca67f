"""live sessions: per-user token version, login throttling, logins unique per namespace

- users.token_version, api_clients.token_version: carried by every token and admin session;
  bumped to end them all at once.
- login_failures: fixed-window counters of password attempts per account name and per address,
  shared by every API replica.
- users.email is no longer unique across the whole table: unique among staff, and unique within
  each tenant, so that creating a tenant's login reveals nothing about staff or other tenants.

Revision ID: 0007_sessions_live
Revises: 0006_merge_heads
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sessions_live"
down_revision: str | Sequence[str] | None = "0006_merge_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("api_clients", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
    op.drop_constraint("uq_users_email", "users", type_="unique")
    op.create_index("uq_users_staff_email", "users", ["email"], unique=True, postgresql_where=sa.text("client_id IS NULL"))
    op.create_index(
        "uq_users_client_email", "users", ["client_id", "email"], unique=True, postgresql_where=sa.text("client_id IS NOT NULL")
    )
    op.create_index("ix_users_email", "users", ["email"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_window_started_at"), "login_failures", ["window_started_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_window_started_at"), table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_users_email", table_name="users")
    op.drop_index("uq_users_client_email", table_name="users")
    op.drop_index("uq_users_staff_email", table_name="users")
    # fails if two namespaces now share an email: such data cannot go back to one global namespace
    op.create_unique_constraint("uq_users_email", "users", ["email"])
    op.drop_column("api_clients", "token_version")
    op.drop_column("users", "token_version")
