"""Migration 0037: the webhook trigger's CASE maps the tickets' public audit actions to `ticket.updated`;
its downgrade restores 0033's function."""

from __future__ import annotations

from tests.conftest import MigrationDb

FUNCTION = "SELECT pg_get_functiondef('webhook_events_from_audit'::regproc) AS body"


def test_0037_installs_the_ticket_case_and_its_downgrade_restores_0033s(migration_db: MigrationDb) -> None:
    migration_db.upgrade("0033_webhooks")
    before = migration_db.sql(FUNCTION)[0]["body"]
    assert "ticket." not in before
    migration_db.upgrade("0037_ticket_notify")
    body = migration_db.sql(FUNCTION)[0]["body"]
    for action in ("ticket.raise", "ticket.status", "ticket.triage", "ticket.comment", "ticket.attach'"):
        assert action in body
    for internal in ("ticket.note", "ticket.assign", "ticket.attach_internal"):
        assert internal not in body
    migration_db.downgrade("0036_helpdesk")
    assert migration_db.sql(FUNCTION)[0]["body"] == before
