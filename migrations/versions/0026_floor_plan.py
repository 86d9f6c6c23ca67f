"""floor-plan editor: seat positions become places on the floor; a floor's plan drawing

Until now a seat's x/y were its column and row within its zone, and the seat map laid the zones out
side by side, wrapping at 36 columns. The floor-plan editor drags seats anywhere on the floor, so
x/y become grid cells on the floor itself: each existing floor's seats are moved to where the map
drew them (zones by name, a free column between zones, a free row above each band of zones for the
zone names), so every map looks as it did.

`floor_images` holds a floor's plan drawing (PNG or JPEG), drawn under its seats.

Revision ID: 0026_floor_plan
Revises: 0025_setup_pages
Create Date: 2026-11-30
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_floor_plan"
down_revision: str | Sequence[str] | None = "0025_setup_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_ROW_CELLS = 36  # where the old map wrapped a band of zones


def upgrade() -> None:
    op.create_table(
        "floor_images",
        sa.Column("floor_id", sa.UUID(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width_px", sa.Integer(), nullable=False),
        sa.Column("height_px", sa.Integer(), nullable=False),
        sa.Column("width_cells", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("content_type IN ('image/png','image/jpeg')", name=op.f("ck_floor_images_content_type")),
        sa.CheckConstraint("width_px > 0 AND height_px > 0 AND width_cells > 0", name=op.f("ck_floor_images_size")),
        sa.ForeignKeyConstraint(["floor_id"], ["floors.id"], name=op.f("fk_floor_images_floor_id_floors"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("floor_id", name=op.f("pk_floor_images")),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT floor_id, zone, min(x), max(x), min(y), max(y) FROM seats GROUP BY floor_id, zone"))
    zones: dict[object, list[tuple[str, int, int, int, int]]] = defaultdict(list)
    for floor_id, zone, x0, x1, y0, y1 in rows:
        zones[floor_id].append((zone, x0, x1, y0, y1))
    for floor_id, blocks in zones.items():
        cursor_x = cursor_y = band_rows = 0
        for zone, x0, x1, y0, y1 in sorted(blocks):
            cols, height = x1 - x0 + 1, y1 - y0 + 1
            if cursor_x and cursor_x + cols > MAX_ROW_CELLS:
                cursor_x, cursor_y, band_rows = 0, cursor_y + band_rows, 0
            conn.execute(
                sa.text("UPDATE seats SET x = x + :dx, y = y + :dy WHERE floor_id = :f AND zone = :z"),
                {"dx": cursor_x - x0, "dy": cursor_y - y0, "f": floor_id, "z": zone},
            )
            cursor_x += cols + 1
            band_rows = max(band_rows, height + 1)


def downgrade() -> None:
    op.drop_table("floor_images")
    # positions on the floor stay valid positions within a zone (the old map shifted each zone to its corner)
    pass
