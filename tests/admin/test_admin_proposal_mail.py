"""A proposal sent by email from the admin's lease page, in headless Chromium: a bad address is
refused next to the field, a good one queues the email (pending on the page), the worker's sender
delivers it to a real SMTP server (aiosmtpd on localhost) and the page then shows it sent."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from playwright.async_api import Page

from domain.services.mail_send import send_due
from tests.admin.conftest import PASSWORD, login, shot
from tests.conftest import make_user
from tests.factories import Api, lease_body, make_world, uniq
from tests.smtp_server import smtp_server
from tests.test_proposal_mail import pdf_text


async def test_send_a_proposal_by_email_from_the_lease_page(
    page: Page, app: FastAPI, staff: Api, db: asyncpg.Pool, tmp_path: object
) -> None:
    w = await make_world(staff)
    prop = await staff.post("/v1/proposals", lease_body(w, seat_count=2, start_date="2031-04-12", notice_days=30))
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.goto(f"/admin/leases/{prop['id']}")
    assert await page.locator("#proposal-emails").count() == 0
    assert await page.locator("#send_to").get_attribute("placeholder") == w.client["billing_email"]

    # a bad address: refused next to the field, nothing queued
    await page.fill("#send_to", "ceo@seatlease-example.com, nobody@")
    await page.click("#send-proposal-btn")
    await page.locator("#send_to[aria-invalid=true]").wait_for()
    assert "nobody@" in await page.locator("#to-error").inner_text()
    assert await page.input_value("#send_to") == "ceo@seatlease-example.com, nobody@"
    assert await db.fetchval("SELECT count(*) FROM email_outbox WHERE object_id = $1", prop["id"]) == 0

    to = f"ceo-{uniq().lower()}@seatlease-example.com"
    await page.fill("#send_to", to)
    await page.fill("#send_message", "Our offer, as discussed.")
    await page.click("#send-proposal-btn")
    await page.locator("#flash", has_text="Proposal queued for sending").wait_for()
    assert to in await page.locator("#flash").inner_text()
    assert await page.locator("#proposal-emails .email-status").all_inner_texts() == ["pending"]
    await shot(page, "proposal-email-pending")

    with smtp_server() as inbox:
        while (await send_due(app.state.sessionmaker, inbox.config()))["sent"]:
            pass
        got = inbox.to(to)
    assert len(got) == 1
    msg = got[0].message
    assert msg["Subject"] == f"Seat lease proposal — {w.client['legal_name']}"
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    text = await pdf_text(pdf.get_content(), tmp_path)  # type: ignore[arg-type]
    assert f"{prop['price']['first_invoice']['total_minor'] / 100:.2f}" in text.replace(",", "")

    await page.reload()
    assert await page.locator("#proposal-emails .email-status").all_inner_texts() == ["sent"]
    assert "UTC" in await page.locator("#proposal-emails .email-sent-at").inner_text()
    assert [a["action"] for a in await db.fetch("SELECT action FROM audit_events WHERE object_id = $1", prop["id"])].count(
        "lease.proposal_sent"
    ) == 1
    await shot(page, "proposal-email-sent")
