"""set-up pages: zones named per floor

``zones`` (floor_id, code, name; the code unique per floor): a facility manager names a floor's zones
("A — Inbound voice") before any seat is drawn. A seat's ``zone`` stays the zone's code (the seat map,
availability and booking read it unchanged). Data move: one zone row, named as its code, for every
distinct (floor, zone) the seats already use, so every existing zone shows on its floor's page.

Revision ID: 0025_setup_pages
Revises: 0024_collections
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025_setup_pages"
down_revision: str | Sequence[str] | None = "0024_collections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("floor_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["floor_id"], ["floors.id"], name=op.f("fk_zones_floor_id_floors"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("floor_id", "code", name=op.f("uq_zones_floor_id_code")),
    )
    op.create_index(op.f("ix_zones_floor_id"), "zones", ["floor_id"], unique=False)
    op.execute("INSERT INTO zones (floor_id, code, name) SELECT DISTINCT floor_id, zone, zone FROM seats")


def downgrade() -> None:
    op.drop_index(op.f("ix_zones_floor_id"), table_name="zones")
    op.drop_table("zones")
