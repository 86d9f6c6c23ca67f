"""A floor's plan drawing, drawn under its seats on the map and in the editor (issue 13).

Its own table, so that loading floors never reads the picture's bytes. PNG or JPEG only: an SVG
could carry script, and the admin serves the bytes back from its own origin."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base

FLOOR_IMAGE_TYPES = ("image/png", "image/jpeg")


class FloorImage(Base):
    __tablename__ = "floor_images"
    __table_args__ = (
        CheckConstraint("content_type IN ('image/png','image/jpeg')", name="content_type"),
        CheckConstraint("width_px > 0 AND height_px > 0 AND width_cells > 0", name="size"),
    )

    floor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    # how many seat columns the drawing spans on the map (its height follows, aspect kept)
    width_cells: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
