"""the help desk: device swaps and a device's history

- ``device_events``: one row per thing that happened to a device (created, placed on a leased seat,
  moved, due back, returned, swapped out/in by a ticket, repair started, repaired, retired, another
  status change), with the ticket, seat, lease, actor and a note; read by device and instant.
- Backfill: one ``created`` event per existing device, at its creation instant.

Revision ID: 0039_device_history
Revises: 0038_sla
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039_device_history"
down_revision: str | Sequence[str] | None = "0038_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "created",
    "placed",
    "moved",
    "return_due",
    "returned",
    "swapped_out",
    "swapped_in",
    "repair_started",
    "repaired",
    "retired",
    "status_change",
)


def upgrade() -> None:
    op.create_table(
        "device_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("seat_id", sa.UUID(), nullable=True),
        sa.Column("lease_id", sa.UUID(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in KINDS) + ")", name=op.f("ck_device_events_kind")),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_events_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_device_events_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["seat_id"], ["seats.id"], name=op.f("fk_device_events_seat_id_seats")),
        sa.ForeignKeyConstraint(["lease_id"], ["leases.id"], name=op.f("fk_device_events_lease_id_leases"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
    )
    op.create_index("ix_device_events_device_id_at", "device_events", ["device_id", "at"], unique=False)
    op.create_index(op.f("ix_device_events_ticket_id"), "device_events", ["ticket_id"], unique=False)
    # every device has a beginning: its history starts with the day it was added
    op.execute(
        "INSERT INTO device_events (device_id, at, kind, actor, note) "
        "SELECT id, created_at, 'created', 'migration', 'recorded before device history existed' FROM devices"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_device_events_ticket_id"), table_name="device_events")
    op.drop_index("ix_device_events_device_id_at", table_name="device_events")
    op.drop_table("device_events")
