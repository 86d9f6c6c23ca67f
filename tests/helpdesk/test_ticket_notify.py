"""The client hears of every public change of its ticket, by email (a real SMTP server) and by the
`ticket.updated` webhook (a real receiver); internal notes, internal attachments and assignments reach neither."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from fastapi import FastAPI

from domain.services.mail_send import send_due
from tests.factories import Api
from tests.helpdesk.conftest import Desk
from tests.smtp_server import Inbox, smtp_server
from tests.webhooks.conftest import drain, sender, subscribe
from tests.webhooks.receiver import receiver

SECRET_NOTE = "vendor RMA 4411 - supplier blames our wiring"


async def _deliver_mail(app: FastAPI, inbox: Inbox) -> None:
    while (await send_due(app.state.sessionmaker, inbox.config()))["sent"]:
        pass


async def test_public_changes_reach_the_client_by_mail_and_webhook_and_internal_ones_never(
    desk: Desk, staff: Api, app: FastAPI, db: asyncpg.Pool, ticket_settings: Any
) -> None:
    ticket_settings(webhook_allow_http=True, webhook_allow_private_targets=True)
    await db.execute("DELETE FROM webhook_endpoints")
    maker = app.state.sessionmaker
    try:
        with receiver() as rx, smtp_server() as inbox:
            await subscribe(desk.client, rx, "desk", ["ticket.updated"])
            t = await desk.client.post("/v1/tickets", desk.body(subject="Line down on 1F-A"))
            path = f"/v1/tickets/{t['id']}"
            raiser = await db.fetchval(
                "SELECT email FROM users WHERE id = (SELECT raised_by_id FROM tickets WHERE id = $1)", uuid.UUID(t["id"])
            )
            await staff.post(f"{path}/status", {"status": "acknowledged"}, expect=200)
            await staff.post(f"{path}/comments", {"body": SECRET_NOTE, "internal": True})
            assignee = await db.fetchval("SELECT id FROM users WHERE role = 'facility_staff' AND active LIMIT 1")
            await staff.call("PUT", f"{path}/assignee", 200, json={"assignee_id": str(assignee)})
            rma = ("rma.pdf", b"%PDF-1.4 " + SECRET_NOTE.encode(), "application/pdf")
            await staff.call("POST", f"{path}/attachments", 201, files={"file": rma}, data={"internal": "true"})
            await staff.post(f"{path}/comments", {"body": "A technician is on the way"})
            await desk.client.post(f"{path}/comments", {"body": "Thanks"})
            await staff.post(f"{path}/status", {"status": "resolved", "resolution": "Patch cable replaced"}, expect=200)

            await drain(maker, sender(app))
            await _deliver_mail(app, inbox)

            # the webhook: every public change, in order, none of the internal ones
            got = rx.at("desk")
            assert {g.body["type"] for g in got} == {"ticket.updated"}
            actions = [g.body["data"]["action"] for g in got]
            assert actions == ["ticket.raise", "ticket.status", "ticket.comment", "ticket.comment", "ticket.status"]
            change = got[-1].body["data"]["change"]
            assert (change["status"], change["resolution"], change["reference"]) == (
                "resolved",
                "Patch cable replaced",
                t["reference"],
            )
            assert change["event"]["to_status"] == "resolved"
            assert "assignee_id" not in change
            assert got[2].body["data"]["change"]["event"]["body"] == "A technician is on the way"
            for g in got:
                assert SECRET_NOTE not in g.raw.decode()
                assert "rma.pdf" not in g.raw.decode()

            # the email: to the login that raised it, for what others did (not its own raise nor its own comment)
            mails = inbox.to(raiser)
            subjects = [m.message["Subject"] for m in mails]
            assert subjects == [
                f"[{t['reference']}] Line down on 1F-A: is now acknowledged",
                f"[{t['reference']}] Line down on 1F-A: has a new comment",
                f"[{t['reference']}] Line down on 1F-A: is now resolved",
            ]
            bodies = [m.message.get_body(("plain",)).get_content() for m in mails]  # type: ignore[union-attr]
            assert "A technician is on the way" in bodies[1]
            assert "Patch cable replaced" in bodies[2]
            for m in inbox.received:
                assert SECRET_NOTE not in m.message.as_string()
                assert "rma.pdf" not in m.message.as_string()
            # the outbox knows no message about the internal changes either
            queued = await db.fetch("SELECT body FROM email_outbox WHERE object_id = $1", uuid.UUID(t["id"]))
            assert len(queued) == 3
            assert all(SECRET_NOTE not in q["body"] for q in queued)
            # nor does any webhook event stored
            events = await db.fetch("SELECT data FROM webhook_events WHERE data->>'id' = $1", t["id"])
            assert len(events) == 5
            assert all(SECRET_NOTE not in json.dumps(json.loads(e["data"])) for e in events)
    finally:
        await db.execute("DELETE FROM webhook_endpoints")


async def test_a_ticket_staff_raised_tells_the_clients_admins(desk: Desk, staff: Api, app: FastAPI, db: asyncpg.Pool) -> None:
    t = await staff.post("/v1/tickets", desk.body(client_id=desk.w.client["id"], subject="Power work tonight"))
    admins = {
        r["email"]
        for r in await db.fetch(
            "SELECT email FROM users WHERE client_id = $1 AND role = 'client_admin' AND active", uuid.UUID(desk.w.client["id"])
        )
    }
    rows = await db.fetch("SELECT to_addrs, subject FROM email_outbox WHERE object_id = $1", uuid.UUID(t["id"]))
    assert len(rows) == 1
    assert set(rows[0]["to_addrs"]) == admins
    assert rows[0]["subject"] == f"[{t['reference']}] Power work tonight: was raised"
    viewer = await db.fetchval(
        "SELECT email FROM users WHERE client_id = $1 AND role = 'client_viewer'", uuid.UUID(desk.w.client["id"])
    )
    assert viewer not in rows[0]["to_addrs"]
    # the facility's own ticket concerns no client: nothing is sent
    own = await staff.post("/v1/tickets", {"category": "facility", "subject": "Aircon", "site_id": desk.w.site["id"]})
    assert await db.fetchval("SELECT count(*) FROM email_outbox WHERE object_id = $1", uuid.UUID(own["id"])) == 0
