"""people and keys: users, password resets, API credentials

- ``users.password_change``: ``required`` (a temporary password an admin set: nothing but changing
  it works) or ``suggested`` (the first admin's printed password: the admin says where to change it).
- ``password_resets``: one-time reset links, kept as the SHA-256 of their token only.
- ``api_clients``: a name, who made it, when a token was last issued for it, rotated and revoked.

Revision ID: 0027_people_keys
Revises: 0026_floor_plan
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_people_keys"
down_revision: str | Sequence[str] | None = "0026_floor_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_change", sa.String(length=16), nullable=True))
    op.create_check_constraint(op.f("ck_users_password_change"), "users", "password_change IN ('required','suggested')")
    op.create_table(
        "password_resets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"])
    op.add_column("api_clients", sa.Column("name", sa.String(length=200), server_default="", nullable=False))
    op.add_column("api_clients", sa.Column("created_by", sa.String(length=320), server_default="", nullable=False))
    op.add_column("api_clients", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_clients", sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_clients", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("revoked_at", "rotated_at", "last_used_at", "created_by", "name"):
        op.drop_column("api_clients", column)
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets")
    op.drop_table("password_resets")
    op.drop_constraint(op.f("ck_users_password_change"), "users", type_="check")
    op.drop_column("users", "password_change")
