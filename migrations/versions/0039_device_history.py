"""the help desk: device swaps and a device's history

- ``device_events``: one row per thing that happened to a device (created, placed on a leased seat,
  moved, due back, returned, swapped out/in by a ticket, repair started, repaired, retired, another
  status change), with the ticket, seat, lease, actor and a note; read by device and instant.
- Backfill: one ``created`` event per existing device, at its creation instant.
- The webhook trigger's function (0033, 0037) again, with a ticket's device swap (``ticket.device_swap``,
  a public change of the ticket) mapped to ``ticket.updated``; downgrade restores 0037's.

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


# domain/webhooks/catalog.py trigger_case(), frozen as of this revision
EVENT_CASE = (
    "CASE "
    "WHEN n.action = 'lease.create' AND n.after->>'status' IN ('confirmed','active') THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.proposal_accepted' AND n.after->>'status' IN ('confirmed','active') THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.approve' THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.renew' THEN 'lease.renewed' "
    "WHEN n.action = 'lease.auto_renew' THEN 'lease.renewed' "
    "WHEN n.action = 'lease.end' THEN 'lease.ending' "
    "WHEN n.action = 'lease.ended' THEN 'lease.ended' "
    "WHEN n.action = 'lease.assignments' THEN 'seat.assigned' "
    "WHEN n.action = 'lease.seat_moved' THEN 'seat.assigned' "
    "WHEN n.action = 'lease.floor_moved' THEN 'seat.assigned' "
    "WHEN n.action = 'credential.granted' THEN 'credential.active' "
    "WHEN n.action = 'credential.disabled' THEN 'credential.revoked' "
    "WHEN n.action = 'invoice.issue' THEN 'invoice.issued' "
    "WHEN n.action = 'invoice.paid' THEN 'invoice.paid' "
    "WHEN n.action = 'invoice.overdue' THEN 'invoice.overdue' "
    "WHEN n.action = 'ticket.raise' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.status' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.triage' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.comment' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.attach' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.device_swap' THEN 'ticket.updated' END"
)

# 0037's, for the downgrade
EVENT_CASE_0037 = (
    "CASE "
    "WHEN n.action = 'lease.create' AND n.after->>'status' IN ('confirmed','active') THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.proposal_accepted' AND n.after->>'status' IN ('confirmed','active') THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.approve' THEN 'lease.confirmed' "
    "WHEN n.action = 'lease.renew' THEN 'lease.renewed' "
    "WHEN n.action = 'lease.auto_renew' THEN 'lease.renewed' "
    "WHEN n.action = 'lease.end' THEN 'lease.ending' "
    "WHEN n.action = 'lease.ended' THEN 'lease.ended' "
    "WHEN n.action = 'lease.assignments' THEN 'seat.assigned' "
    "WHEN n.action = 'lease.seat_moved' THEN 'seat.assigned' "
    "WHEN n.action = 'lease.floor_moved' THEN 'seat.assigned' "
    "WHEN n.action = 'credential.granted' THEN 'credential.active' "
    "WHEN n.action = 'credential.disabled' THEN 'credential.revoked' "
    "WHEN n.action = 'invoice.issue' THEN 'invoice.issued' "
    "WHEN n.action = 'invoice.paid' THEN 'invoice.paid' "
    "WHEN n.action = 'invoice.overdue' THEN 'invoice.overdue' "
    "WHEN n.action = 'ticket.raise' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.status' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.triage' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.comment' THEN 'ticket.updated' "
    "WHEN n.action = 'ticket.attach' THEN 'ticket.updated' END"
)

FUNCTION_TEMPLATE = """
CREATE OR REPLACE FUNCTION webhook_events_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the common case (no endpoint at all) costs one probe per audit statement
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints) THEN
        RETURN NULL;
    END IF;
    WITH typed AS (
        SELECT n.id, n.at, n.client_id, n.object_type, n.object_id, n.action, n.after, {case} AS type
        FROM new_rows n
    ), ev AS (
        INSERT INTO webhook_events (type, client_id, created_at, audit_event_id, data)
        SELECT t.type, t.client_id, t.at, t.id,
               jsonb_build_object('object', t.object_type, 'id', t.object_id, 'action', t.action,
                                  'change', coalesce(t.after, '{{}}'::jsonb))
        FROM typed t
        WHERE t.type IS NOT NULL
          AND EXISTS (SELECT 1 FROM webhook_endpoints e
                      WHERE (e.client_id = t.client_id OR e.client_id IS NULL) AND t.type = ANY (e.event_types))
        ORDER BY t.id
        RETURNING id, seq, type, client_id
    )
    -- a client's event goes to its own endpoints and the facility's (client_id NULL), never another's
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_seq)
    SELECT e.id, ev.id, ev.seq
    FROM ev JOIN webhook_endpoints e ON (e.client_id = ev.client_id OR e.client_id IS NULL) AND ev.type = ANY (e.event_types);
    RETURN NULL;
END $$;
"""


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
    op.execute(FUNCTION_TEMPLATE.format(case=EVENT_CASE))


def downgrade() -> None:
    op.execute(FUNCTION_TEMPLATE.format(case=EVENT_CASE_0037))
    op.drop_index(op.f("ix_device_events_ticket_id"), table_name="device_events")
    op.drop_index("ix_device_events_device_id_at", table_name="device_events")
    op.drop_table("device_events")
