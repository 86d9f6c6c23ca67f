from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class WorkerLiveness(Base):
    """One row per running worker loop (`host:pid:uuid`), written after each pass it completes or
    fails; /healthz and /metrics read it. A row not written for a long time is pruned."""

    __tablename__ = "worker_liveness"
    __table_args__ = (Index("ix_worker_liveness_updated_at", "updated_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # 'reconciler' (the provisioning loop) or 'periodic' (lease transitions, billing sync)
    role: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_pass_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    passes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failed_passes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # what the last completed pass could not do, e.g. {"sites_failing": [{"site_id", "code", "pass", "error"}]}
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
