"""Payment reminders: the worker's job queues each invoice's reminder step due today (site calendar)
by email to the client's billing contact with the invoice's PDF, delivered to a real SMTP server
(aiosmtpd on localhost); paid invoices (by status or by allocations) get none, a partially paid one is
reminded of the rest, a held cheque does not count; a reminder is never queued twice, even by
concurrent worker passes in several processes; without SMTP settings nothing is queued."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from billing.dunning import remind_due
from billing.dunning_config import DunningConfig
from domain.services.mail_send import send_due
from service.settings import Settings
from service.worker import jobs, payment_reminders, send_mail
from tests.billing.ledger_setup import Party, credit_note, invoice, make_party, payment
from tests.factories import Api
from tests.smtp_server import Inbox, Received, smtp_server
from tests.test_proposal_mail import pdf_text

REPO = Path(__file__).resolve().parents[2]


def mail_settings(app: FastAPI, inbox: Inbox) -> Settings:
    base: Settings = app.state.settings
    return base.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_security": "none",
            "smtp_from": "billing@seatlease-example.com",
        }
    )


async def deliver(app: FastAPI, inbox: Inbox) -> None:
    while (await send_due(app.state.sessionmaker, inbox.config()))["sent"]:
        pass


def today_at(p: Party) -> date:
    return datetime.now(ZoneInfo(p.site["timezone"])).date()


async def _queued(db: asyncpg.Pool, invoice_id: uuid.UUID) -> list[str]:
    rows = await db.fetch("SELECT dedupe_key FROM email_outbox WHERE topic = 'dunning' AND object_id = $1", invoice_id)
    return sorted(r["dedupe_key"] for r in rows)


def _by_number(got: list[Received], number: str) -> list[Received]:
    return [r for r in got if number in str(r.message["Subject"])]


async def test_reminders_at_their_steps_with_the_pdf_and_none_for_what_is_paid(
    app: FastAPI, staff: Api, finance: Api, db: asyncpg.Pool, tmp_path: Path
) -> None:
    p = await make_party(staff)
    t = today_at(p)
    soon = await invoice(db, p, issue=t - timedelta(days=27), due=t + timedelta(days=3))  # -3: due today
    week = await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7))  # 7
    late = await invoice(db, p, issue=t - timedelta(days=55), due=t - timedelta(days=25))  # 21 only, not 7 as well
    between = await invoice(db, p, issue=t - timedelta(days=32), due=t - timedelta(days=2))  # -3 has passed, 7 not yet
    paid = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10), status="paid")
    settled = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10))
    await payment(
        db, p, on=t - timedelta(days=9), amount_minor=settled["total_minor"], allocations=[(settled, 100_000, 12_000, None)]
    )
    partial = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10))
    await payment(db, p, on=t - timedelta(days=9), amount_minor=50_000, allocations=[(partial, 50_000, 0, None)])
    held = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10))
    await payment(
        db,
        p,
        on=t + timedelta(days=20),
        amount_minor=112_000,
        method="cheque",
        status="held",
        allocations=[(held, 112_000, 0, None)],
    )
    credited = await invoice(db, p, issue=t - timedelta(days=40), due=t - timedelta(days=10))
    await credit_note(db, p, credited, on=t - timedelta(days=9), amount_minor=100_000)
    # another client, excluded from reminders by finance
    q = await make_party(staff)
    await finance.call("PATCH", f"/v1/clients/{q.client['id']}", json={"dunning_excluded": True}, expect=200)
    excluded = await invoice(db, q, issue=t - timedelta(days=40), due=t - timedelta(days=10))

    assert jobs().index(payment_reminders) < jobs().index(send_mail)  # queued right before the sender runs
    with smtp_server() as inbox:
        settings = mail_settings(app, inbox)
        report = await payment_reminders(app.state.sessionmaker, settings)
        assert report["queued"] >= 5
        await send_mail(app.state.sessionmaker, settings)
        await deliver(app, inbox)
        got = inbox.to(p.client["billing_email"])
        assert inbox.to(q.client["billing_email"]) == []

        assert sorted(str(r.message["Subject"]) for r in got) == sorted(
            [
                f"Reminder: invoice {soon['number']} is due on {t + timedelta(days=3):%d %b %Y}",
                f"Overdue: invoice {week['number']} is 7 days past due",
                f"Overdue: invoice {late['number']} is 25 days past due",
                f"Overdue: invoice {partial['number']} is 10 days past due",
                f"Overdue: invoice {held['number']} is 10 days past due",
            ]
        )
        for inv in (between, paid, settled, credited, excluded):
            assert await _queued(db, inv["id"]) == []
        assert await _queued(db, late["id"]) == [f"dunning:{late['id']}:21"]

        # the partly paid invoice: reminded of the rest
        [msg] = [r.message for r in _by_number(got, partial["number"])]
        text = msg.get_body(("plain",))
        assert text is not None
        body = text.get_content()
        assert "Amount outstanding: PHP 620.00" in body
        assert "Paid or credited:   PHP 500.00" in body
        assert got[0].rcpt_tos == [p.client["billing_email"]]
        # the invoice's own PDF is attached
        [pdf] = list(msg.iter_attachments())
        assert pdf.get_content_type() == "application/pdf"
        assert str(pdf.get_filename()).endswith(".pdf")
        content = pdf.get_content()
        assert content.startswith(b"%PDF")
        assert partial["number"] in await pdf_text(content, tmp_path)

        # the next pass (and the one after) queues nothing more: never twice
        await payment_reminders(app.state.sessionmaker, settings)
        await deliver(app, inbox)
        assert len(inbox.to(p.client["billing_email"])) == 5
        for inv, step in ((soon, -3), (week, 7), (late, 21), (partial, 7), (held, 7)):
            assert await _queued(db, inv["id"]) == [f"dunning:{inv['id']}:{step}"]
    audit = await db.fetch(
        "SELECT object_id, after FROM audit_events WHERE action = 'invoice.reminder_queued' AND object_id = ANY($1::text[])",
        [str(i["id"]) for i in (soon, week, late, partial, held)],
    )
    assert len(audit) == 5


async def test_payment_stops_the_next_steps_and_withdraws_a_reminder_not_yet_sent(
    app: FastAPI, staff: Api, db: asyncpg.Pool
) -> None:
    p = await make_party(staff)
    t = today_at(p)
    paid_later = await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7))
    part_later = await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7))
    maker = app.state.sessionmaker
    with smtp_server() as inbox:
        settings = mail_settings(app, inbox)
        await payment_reminders(maker, settings)
        await deliver(app, inbox)
        assert len(inbox.to(p.client["billing_email"])) == 2
        await payment(db, p, on=t, amount_minor=112_000, allocations=[(paid_later, 112_000, 0, None)])
        await payment(db, p, on=t, amount_minor=12_000, allocations=[(part_later, 12_000, 0, None)])
        # two weeks on, step 21: only the partly paid invoice, for what is left
        await remind_due(maker, settings.dunning(), now=datetime.now(UTC) + timedelta(days=14))
        await deliver(app, inbox)
        got = inbox.to(p.client["billing_email"])
        assert len(got) == 3
        [last] = [r.message for r in got if "21 days past due" in str(r.message["Subject"])]
        assert part_later["number"] in str(last["Subject"])
        text = last.get_body(("plain",))
        assert text is not None
        assert "Amount outstanding: PHP 1,000.00" in text.get_content()
        assert await _queued(db, paid_later["id"]) == [f"dunning:{paid_later['id']}:7"]

        # a reminder queued, then the invoice paid before the sender ran: withdrawn, never sent
        third = await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7))
        await payment_reminders(maker, settings)
        assert await _queued(db, third["id"]) == [f"dunning:{third['id']}:7"]
        await payment(db, p, on=t, amount_minor=112_000, allocations=[(third, 112_000, 0, None)])
        report = await payment_reminders(maker, settings)
        assert report["withdrawn"] >= 1
        assert await _queued(db, third["id"]) == []
        await deliver(app, inbox)
        assert len(inbox.to(p.client["billing_email"])) == 3
    withdrawn = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'invoice.reminder_withdrawn' AND object_id = $1", str(third["id"])
    )
    assert withdrawn == 1


async def test_without_smtp_settings_no_reminder_is_queued(app: FastAPI, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    p = await make_party(staff)
    t = today_at(p)
    inv = await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7))
    assert app.state.settings.smtp_host is None
    report = await payment_reminders(app.state.sessionmaker, app.state.settings)
    assert report["queued"] == 0
    assert "SEATLEASE_SMTP_HOST" in report["skipped"]
    assert await _queued(db, inv["id"]) == []
    page = await finance.get("/v1/billing/overdue", params={"client_id": p.client["id"]})
    assert page["reminders"] == {"enabled": False, "steps": [-3, 7, 21], "mail_configured": False}
    [item] = page["items"]
    assert item["next_reminder_on"] is None


RUN_PASS = """
import asyncio, sys, time
from billing.dunning import remind_due
from billing.dunning_config import DunningConfig
from service.db import engine_for, make_sessionmaker
from service.settings import get_settings

async def main() -> None:
    engine = engine_for(sys.argv[1], get_settings(), "worker")
    await asyncio.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every pass starts at the same moment
    try:
        print(await remind_due(make_sessionmaker(engine), DunningConfig(mail_configured=True, batch_size=4)))
    finally:
        await engine.dispose()

asyncio.run(main())
"""


async def test_concurrent_worker_passes_queue_and_send_each_reminder_once(
    app: FastAPI, staff: Api, db: asyncpg.Pool, database_url: str
) -> None:
    p = await make_party(staff)
    t = today_at(p)
    invoices = [await invoice(db, p, issue=t - timedelta(days=37), due=t - timedelta(days=7)) for _ in range(30)]
    maker = app.state.sessionmaker
    config = DunningConfig(mail_configured=True, batch_size=4)
    start = time.time() + 4  # time for the processes to start

    async def process() -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_PASS, database_url, str(start), cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0
        return out.decode()

    async def here() -> dict[str, Any]:
        await asyncio.sleep(max(0.0, start - time.time()))
        return await remind_due(maker, config)

    # three worker processes and two passes in this one, all at once
    await asyncio.gather(*(process() for _ in range(3)), here(), here())
    for inv in invoices:
        assert await _queued(db, inv["id"]) == [f"dunning:{inv['id']}:7"]
    audit = await db.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'invoice.reminder_queued' AND object_id = ANY($1::text[])",
        [str(i["id"]) for i in invoices],
    )
    assert audit == len(invoices)
    # two senders at once, the server slow to accept: each reminder arrives once
    with smtp_server() as inbox:
        inbox.delay = 0.05
        await asyncio.gather(deliver(app, inbox), deliver(app, inbox))
        got = inbox.to(p.client["billing_email"])
    assert sorted(str(r.message["Subject"]) for r in got) == sorted(
        f"Overdue: invoice {i['number']} is 7 days past due" for i in invoices
    )


async def test_finance_excludes_a_client_from_reminders_audited_and_nobody_else_can(
    staff: Api, finance: Api, admin: Api, db: asyncpg.Pool, client_login: Any
) -> None:
    p = await make_party(staff)
    path = f"/v1/clients/{p.client['id']}"
    assert (await finance.get(path))["dunning_excluded"] is False
    out = (await finance.call("PATCH", path, json={"dunning_excluded": True}, expect=200)).json()
    assert out["dunning_excluded"] is True
    [event] = await db.fetch(
        "SELECT before->>'dunning_excluded' AS b, after->>'dunning_excluded' AS a FROM audit_events"
        " WHERE action = 'client.update' AND object_id = $1",
        p.client["id"],
    )
    assert (event["b"], event["a"]) == ("false", "true")
    # finance changes only the collections fields; bad values name the field
    r = await finance.call("PATCH", path, json={"dunning_excluded": False, "legal_name": "Renamed Inc."})
    assert r.status_code == 403
    assert r.json()["field"] == "legal_name"
    for bad in ("yes", None, 1):
        r = await finance.call("PATCH", path, json={"dunning_excluded": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["field"] == "dunning_excluded"
    # the client cannot take itself out of collections
    owner = await client_login(p.client["id"])
    await owner.call("PATCH", path, json={"dunning_excluded": False}, expect=403)
    assert (await finance.get(path))["dunning_excluded"] is True
    # facility staff run the floor, not collections: refused naming the field, as for the client
    r = await staff.call("PATCH", path, json={"dunning_excluded": False})
    assert r.status_code == 403
    assert r.json()["field"] == "dunning_excluded"
    await staff.call("PATCH", path, json={"payment_terms_days": 45}, expect=200)
    assert (await finance.get(path))["dunning_excluded"] is True
    # an admin may switch reminders back on
    out = (await admin.call("PATCH", path, json={"dunning_excluded": False}, expect=200)).json()
    assert out["dunning_excluded"] is False
