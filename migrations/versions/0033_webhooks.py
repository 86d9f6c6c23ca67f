"""signed outbound webhooks and their delivery log

Tables: webhook_endpoints (a client's, or the facility's own with client_id NULL; the signing secret
AES-GCM sealed), webhook_events (the outbox: one row per change, `seq` orders them),
webhook_deliveries (one event for one endpoint: the worker's state row) and webhook_attempts (each
POST and its answer); invoice_overdue_marks (invoice.overdue is announced once per invoice).

The events are written by a statement-level trigger on audit_events: every use-case records its
audit row in its own transaction, so the event commits or rolls back with the change, once per
change, by whichever path wrote the audit row (ORM, COPY, raw SQL). Which action is which event is
domain/webhooks/catalog.py's SOURCES; the CASE below is its `trigger_case()` (a test compares them).
Nothing is written while no endpoint subscribes to the event's type for its client.

Revision ID: 0033_webhooks
Revises: 0032_client_scim
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033_webhooks"
down_revision: str | Sequence[str] | None = "0032_client_scim"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# domain/webhooks/catalog.py trigger_case(), frozen as of this revision
EVENT_CASE = (
    "CASE WHEN n.action = 'lease.create' AND n.after->>'status' IN ('confirmed','active') THEN 'lease.confirmed' "
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
    "WHEN n.action = 'invoice.overdue' THEN 'invoice.overdue' END"
)

TRIGGER_FUNCTION = f"""
CREATE FUNCTION webhook_events_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the common case (no endpoint at all) costs one probe per audit statement
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints) THEN
        RETURN NULL;
    END IF;
    WITH typed AS (
        SELECT n.id, n.at, n.client_id, n.object_type, n.object_id, n.action, n.after, {EVENT_CASE} AS type
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
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(200), server_default="", nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active','paused')", name=op.f("ck_webhook_endpoints_status")),
        sa.CheckConstraint("consecutive_failures >= 0", name=op.f("ck_webhook_endpoints_consecutive_failures")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_webhook_endpoints_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_client_id"), "webhook_endpoints", ["client_id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("audit_event_id", sa.BigInteger(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("seq", name=op.f("uq_webhook_events_seq")),
        sa.UniqueConstraint("audit_event_id", name=op.f("uq_webhook_events_audit_event_id")),
    )
    op.create_index(op.f("ix_webhook_events_client_id"), "webhook_events", ["client_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending','delivered')", name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_events.id"], name=op.f("fk_webhook_deliveries_event_id_webhook_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name=op.f("uq_webhook_deliveries_endpoint_id_event_id")),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index("ix_webhook_deliveries_endpoint_seq", "webhook_deliveries", ["endpoint_id", "event_seq"])
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"])
    # invoice.overdue is announced once per invoice (billing/overdue_events.py)
    op.create_table(
        "invoice_overdue_marks",
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_overdue_marks_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_overdue_marks")),
    )
    op.execute(TRIGGER_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_from_audit()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_webhooks ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS webhook_events_from_audit()")
    op.drop_table("invoice_overdue_marks")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
