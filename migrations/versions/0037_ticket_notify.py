"""the help desk: tickets tell their client (email, the ticket.updated webhook)

The webhook trigger's function (0033) again, with the CASE of domain/webhooks/catalog.py that maps the
tickets' public audit actions (raise, status, triage, comment, attach) to `ticket.updated`; internal notes,
internal attachments and assignments have actions of their own that map to nothing. Downgrade restores
0033's function. The email half needs no schema: it is the outbox of issue 11.

Revision ID: 0037_ticket_notify
Revises: 0036_helpdesk
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037_ticket_notify"
down_revision: str | Sequence[str] | None = "0036_helpdesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    "WHEN n.action = 'ticket.attach' THEN 'ticket.updated' END"
)

# 0033's, for the downgrade
EVENT_CASE_0033 = (
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
    op.execute(FUNCTION_TEMPLATE.format(case=EVENT_CASE))


def downgrade() -> None:
    op.execute(FUNCTION_TEMPLATE.format(case=EVENT_CASE_0033))
