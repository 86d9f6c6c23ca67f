"""A proposal sent by email through the API: queued with its PDF in the request's transaction,
audited, idempotent with an Idempotency-Key, delivered by the worker's sender to a real SMTP server
(aiosmtpd on localhost) whose message carries the proposal's PDF with its total; bad addresses and
other tenants refused."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI

from domain.services.mail_send import send_due
from tests.factories import Api, ClientLogin, lease_body, make_world, uniq
from tests.smtp_server import Inbox, smtp_server


async def _deliver(app: FastAPI, inbox: Inbox) -> None:
    while (await send_due(app.state.sessionmaker, inbox.config()))["sent"]:
        pass


async def pdf_text(content: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    path = tmp_path / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(content)
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


async def test_staff_send_a_proposal_and_the_client_receives_its_pdf(
    app: FastAPI, staff: Api, db: asyncpg.Pool, tmp_path: Path
) -> None:
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=2, start_date="2031-03-10", notice_days=45))
    assert prop["emails"] == []
    key = {"Idempotency-Key": uniq("send-")}
    body = {"message": "Dear team,\nhere is our offer."}
    r = await staff.call("POST", f"/v1/proposals/{prop['id']}/send", json=body, headers=key, expect=202)
    sent = r.json()
    assert sent["proposal_id"] == prop["id"]
    assert sent["email"]["to"] == [w.client["billing_email"]]
    assert sent["email"]["status"] == "pending"
    # the same request again: answered as the first, nothing more queued
    again = await staff.call("POST", f"/v1/proposals/{prop['id']}/send", json=body, headers=key, expect=202)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == sent
    rows = await db.fetch("SELECT id FROM email_outbox WHERE object_id = $1", uuid.UUID(prop["id"]))
    assert [str(r["id"]) for r in rows] == [sent["email"]["id"]]
    actions = await db.fetch(
        "SELECT action, after FROM audit_events WHERE object_id = $1 AND action = 'lease.proposal_sent'", prop["id"]
    )
    assert len(actions) == 1

    with smtp_server() as inbox:
        await _deliver(app, inbox)
        got = inbox.to(w.client["billing_email"])
    assert len(got) == 1
    msg = got[0].message
    assert got[0].rcpt_tos == [w.client["billing_email"]]
    assert msg["Subject"] == f"Seat lease proposal — {w.client['legal_name']}"
    text = msg.get_body(("plain",))
    assert text is not None
    assert "here is our offer." in text.get_content()
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"proposal-{prop['id']}.pdf"
    content = pdf.get_content()
    assert content.startswith(b"%PDF")
    pdf_words = await pdf_text(content, tmp_path)
    assert w.client["legal_name"] in pdf_words
    assert "Notice period: 45 days" in pdf_words
    assert f"{prop['price']['first_invoice']['total_minor'] / 100:.2f}" in pdf_words.replace(",", "")

    # the proposal shows when it was sent and that it was
    after = await staff.get(f"/v1/proposals/{prop['id']}")
    [email] = after["emails"]
    assert email["status"] == "sent"
    assert email["sent_at"] is not None
    assert email["id"] == sent["email"]["id"]


async def test_send_to_chosen_addresses_and_bad_addresses_are_refused_naming_the_field(
    app: FastAPI, staff: Api, finance: Api, client_login: ClientLogin
) -> None:
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=1, start_date="2031-03-10"))
    for bad in (["not-an-address"], [], ["ok@seatlease-example.com", "x@localhost"], "a@seatlease-example.com"):
        r = await staff.call("POST", f"/v1/proposals/{prop['id']}/send", json={"to": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"].split(".")[0] == "to", r.text
    r = await staff.call("POST", f"/v1/proposals/{prop['id']}/send", json={"to": ["a@seatlease-example.com"], "cc": 1})
    assert r.status_code == 422
    to = [f"ceo-{uniq().lower()}@seatlease-example.com", f"it-{uniq().lower()}@seatlease-example.com"]
    sent = await staff.post(f"/v1/proposals/{prop['id']}/send", {"to": to}, expect=202)
    assert sent["email"]["to"] == to
    with smtp_server() as inbox:
        await _deliver(app, inbox)
        got = inbox.to(to[0])
    assert len(got) == 1
    assert sorted(got[0].rcpt_tos) == sorted(to)

    # only staff send; another client's proposal does not exist for a client user
    owner = await client_login(w.client["id"])
    await owner.post(f"/v1/proposals/{prop['id']}/send", {}, expect=403)
    await finance.post(f"/v1/proposals/{prop['id']}/send", {}, expect=403)
    rival = await staff.post("/v1/clients", {"legal_name": f"Rival {uniq()}", "billing_email": "ap@rival-example.com"})
    stranger = await client_login(rival["id"])
    await stranger.post(f"/v1/proposals/{prop['id']}/send", {}, expect=404)
    await staff.post(f"/v1/proposals/{uuid.uuid4()}/send", {}, expect=404)

    # a withdrawn proposal is not sent
    await staff.post(f"/v1/proposals/{prop['id']}/withdraw", expect=200)
    r = await staff.call("POST", f"/v1/proposals/{prop['id']}/send", json={})
    assert r.status_code == 409
    assert "withdrawn" in r.text
    assert len((await staff.get(f"/v1/proposals/{prop['id']}"))["emails"]) == 1


async def test_concurrent_sends_of_one_proposal_queue_one_email_per_send(staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=1, start_date="2031-03-10"))
    path = f"/v1/proposals/{prop['id']}/send"
    # the same Idempotency-Key at once: one email, both answers the same
    key = {"Idempotency-Key": uniq("twice-")}
    a, b = await asyncio.gather(*(staff.call("POST", path, json={}, headers=key) for _ in range(2)))
    assert (a.status_code, b.status_code) == (202, 202)
    assert a.json()["email"]["id"] == b.json()["email"]["id"]
    # four sends without a key at once: four emails, in turn (numbered dedupe keys), no error
    answers = await asyncio.gather(*(staff.call("POST", path, json={}) for _ in range(4)))
    assert [r.status_code for r in answers] == [202] * 4
    keys = await db.fetch("SELECT dedupe_key FROM email_outbox WHERE object_id = $1 ORDER BY dedupe_key", uuid.UUID(prop["id"]))
    assert [k["dedupe_key"] for k in keys] == [f"proposal:{prop['id']}:{n}" for n in range(1, 6)]
    assert len((await staff.get(f"/v1/proposals/{prop['id']}"))["emails"]) == 5
