"""a SCIM 2.0 endpoint per client

- ``scim_tokens``: one bearer token per client, kept as its SHA-256 only (rotation replaces it).
- ``scim_deprovisions``: an agent the client's identity provider deactivated or deleted, the call's
  instant and when its last facility credential was cut (the deprovision KPI).
- ``members``: ``user_name``, ``external_id``, ``scim_attributes`` (the rest of the SCIM resource),
  ``scim_deleted_at``, ``updated_at``; the email is unique among the agents not deleted
  through SCIM; ``teams``: ``external_id``, ``holding`` (where a SCIM user in
  no group sits), ``scim_attributes`` (the display names the identity provider gave its members).

Revision ID: 0032_client_scim
Revises: 0031_api_polish
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0032_client_scim"
down_revision: str | Sequence[str] | None = "0031_api_polish"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=320), server_default="", nullable=False),
        sa.Column("rotations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_scim_tokens_client_id_clients"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_table(
        "scim_deprovisions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credentials", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('deactivate','delete')", name=op.f("ck_scim_deprovisions_kind")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_scim_deprovisions_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_scim_deprovisions_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_deprovisions")),
    )
    op.create_index(op.f("ix_scim_deprovisions_client_id"), "scim_deprovisions", ["client_id"])
    op.create_index(op.f("ix_scim_deprovisions_member_id"), "scim_deprovisions", ["member_id"])
    op.add_column("members", sa.Column("user_name", sa.String(length=320), nullable=True))
    op.add_column("members", sa.Column("external_id", sa.String(length=200), nullable=True))
    op.add_column(
        "members",
        sa.Column("scim_attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column("members", sa.Column("scim_deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("members", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    # an email is unique among the client's agents not deleted through SCIM (a re-hire comes back)
    op.drop_constraint(op.f("uq_members_client_id_email"), "members", type_="unique")
    op.create_index(
        "uq_members_client_id_email",
        "members",
        ["client_id", "email"],
        unique=True,
        postgresql_where=sa.text("scim_deleted_at IS NULL"),
    )
    op.create_index(
        "uq_members_client_user_name",
        "members",
        ["client_id", sa.text("lower(user_name)")],
        unique=True,
        postgresql_where=sa.text("user_name IS NOT NULL AND scim_deleted_at IS NULL"),
    )
    op.add_column("teams", sa.Column("external_id", sa.String(length=200), nullable=True))
    op.add_column("teams", sa.Column("holding", sa.Boolean(), server_default="false", nullable=False))
    op.add_column(
        "teams",
        sa.Column("scim_attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("teams", "scim_attributes")
    op.drop_column("teams", "holding")
    op.drop_column("teams", "external_id")
    op.drop_index("uq_members_client_user_name", table_name="members")
    op.drop_index("uq_members_client_id_email", table_name="members")
    # an agent deleted through SCIM whose address came back keeps its row under a marked address
    op.execute(
        "UPDATE members m SET email = left(m.email, 270) || '#deleted-' || m.id::text WHERE scim_deleted_at IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM members n WHERE n.client_id = m.client_id AND n.email = m.email AND n.id <> m.id)"
    )
    op.create_unique_constraint(op.f("uq_members_client_id_email"), "members", ["client_id", "email"])
    for column in ("updated_at", "scim_deleted_at", "scim_attributes", "external_id", "user_name"):
        op.drop_column("members", column)
    op.drop_index(op.f("ix_scim_deprovisions_member_id"), table_name="scim_deprovisions")
    op.drop_index(op.f("ix_scim_deprovisions_client_id"), table_name="scim_deprovisions")
    op.drop_table("scim_deprovisions")
    op.drop_table("scim_tokens")
