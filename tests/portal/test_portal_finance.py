"""The client's money in the portal, in headless Chromium: invoices (never a draft), credit notes
(issued only), payments, statements, the balance and its aging, the documents as real PDFs, and
paying online through Stripe's hosted invoice page (the stand-in's) when Stripe is on — or how to
pay when it is off."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import worker
from billing.stripe_gateway import StripeGateway
from service.settings import get_settings
from tests.admin.test_admin_invoices import bill, invoice_of
from tests.billing.payment_helpers import pay
from tests.billing.stripe_standin import StripeStandIn
from tests.billing.test_webhooks import handle, post_event
from tests.browser import shot
from tests.conftest import token_for
from tests.factories import Api, lease_body
from tests.portal.conftest import PASSWORD, PortalClient, login, portal_login

_years = itertools.count(2150)


async def billed(staff: Api, finance: Api, pc: PortalClient) -> dict[str, Any]:
    """A lease of the client billed for a month of its own year: the issued invoice."""
    y = next(_years)
    await staff.post("/v1/leases", lease_body(pc.world, seat_count=2, start_date=f"{y}-01-01"))
    await bill(finance, f"{y}-01")
    return await invoice_of(finance, pc.world, f"{y}-01")


async def download(page: Page, selector: str) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.locator(selector).first.click()
    d = await info.value
    path = await d.path()
    return d.suggested_filename, await asyncio.to_thread(path.read_bytes)


def assert_pdf(body: bytes) -> None:
    """A real PDF: its magic number, a trailer, and more than a stub's size."""
    assert body[:5] == b"%PDF-", body[:20]
    assert b"%%EOF" in body[-1024:]
    assert len(body) > 1500, len(body)


async def test_a_client_reads_its_invoices_credit_notes_payments_and_statements(
    page: Page, staff: Api, finance: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    w = portal_client.world
    inv = await billed(staff, finance, portal_client)
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "aircon outage", "amount_minor": 100_000})
    assert cn["status"] == "issued"
    pending = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "big goodwill", "amount_minor": 6_000_000})
    assert pending["status"] == "pending_approval"
    paid = await pay(finance, w.client["id"], 500_000, [{"invoice_id": inv["id"], "amount_minor": 500_000}], reference="BDO-778")
    draft = await finance.post(
        "/v1/invoices",
        {
            "client_id": w.client["id"],
            "site_id": w.site["id"],
            "issue": False,
            "lines": [{"description": "Draft headset charge", "unit_price_minor": 10_000, "reason": "damaged"}],
        },
    )
    assert draft["status"] == "draft"
    # the invoice fell due 40 days ago: the aging shows it late
    await db.execute("UPDATE invoices SET due_date = $2 WHERE id = $1", uuid.UUID(inv["id"]), date.today() - timedelta(days=40))

    await login(page, portal_client.viewer_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    card = page.locator("#balance-card")
    still_due = inv["total_minor"] - cn["total_minor"] - 500_000
    assert "overdue" in await card.inner_text()
    await shot(page, "portal-overview-balance")

    await page.get_by_role("link", name="Invoices", exact=True).click()
    await page.wait_for_url(re.compile(r".*/portal/invoices$"))
    assert await page.locator(f'tr[data-invoice="{inv["id"]}"]').count() == 1
    assert await page.locator(f'tr[data-invoice="{draft["id"]}"]').count() == 0
    assert "Draft headset charge" not in await page.content()
    assert await page.locator("#overdue").get_by_text(inv["number"]).count() == 1
    assert "31–60" in await page.locator("#aging").inner_text()
    await shot(page, "portal-invoices")

    await page.locator(f'tr[data-invoice="{inv["id"]}"] a').first.click()
    await page.wait_for_url(re.compile(rf".*/portal/invoices/{inv['id']}$"))
    due_text = await page.locator("#still-due").inner_text()
    assert re.sub(r"[^\d]", "", due_text) == str(still_due)
    # Stripe is off: the page says how to pay instead of a Stripe link
    assert await page.locator("#pay-online").count() == 0
    how = await page.locator("#how-to-pay").inner_text()
    assert inv["number"] in how
    assert "bank transfer" in how
    assert "aircon outage" in await page.locator("#credit-notes").inner_text()
    assert "big goodwill" not in await page.content()  # a credit note waiting for approval is finance's
    assert "BDO-778" in await page.locator("#invoice-payments").inner_text()
    await shot(page, "portal-invoice-detail")
    name, body = await download(page, "#invoice-pdf")
    assert name == f"invoice-{inv['number']}.pdf"
    assert_pdf(body)

    await page.get_by_role("link", name="Credit notes", exact=True).click()
    await page.wait_for_url(re.compile(r".*/portal/credit-notes$"))
    assert await page.locator(f'tr[data-credit-note="{cn["id"]}"]').count() == 1
    assert await page.locator(f'tr[data-credit-note="{pending["id"]}"]').count() == 0
    await page.locator(f'tr[data-credit-note="{cn["id"]}"] a').first.click()
    await page.wait_for_url(re.compile(rf".*/portal/credit-notes/{cn['id']}$"))
    name, body = await download(page, "#credit-note-pdf")
    assert name.startswith("credit-note-")
    assert_pdf(body)
    await shot(page, "portal-credit-note")

    await page.get_by_role("link", name="Payments", exact=True).click()
    await page.wait_for_url(re.compile(r".*/portal/payments$"))
    row = page.locator(f'tr[data-payment="{paid["id"]}"]')
    assert inv["number"] in await row.inner_text()
    await row.locator("a").first.click()
    await page.wait_for_url(re.compile(rf".*/portal/payments/{paid['id']}$"))
    assert "BDO-778" in await page.locator("#payment").inner_text()
    await shot(page, "portal-payment")

    await page.get_by_role("link", name="Statements", exact=True).click()
    await page.wait_for_url(re.compile(r".*/portal/statements$"))
    month = date.today().strftime("%Y-%m")
    await shot(page, "portal-statements")
    name, body = await download(page, f'tr[data-period="{month}"] .statement-pdf')
    assert name.startswith(f"statement-{month}-")
    assert name.endswith(".pdf")
    assert_pdf(body)
    name, body = await download(page, f'tr[data-period="{month}"] .statement-csv')
    assert name.endswith(".csv")
    text = body.decode()
    assert inv["number"] in text
    assert draft["id"] not in text


async def test_a_draft_a_pending_credit_note_and_another_clients_documents_are_not_found(
    live_http: httpx.Client, http: httpx.AsyncClient, staff: Api, finance: Api, db: asyncpg.Pool, portal_client: PortalClient
) -> None:
    inv = await billed(staff, finance, portal_client)
    pending = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": "big goodwill", "amount_minor": 6_000_000})
    draft = await finance.post(
        "/v1/invoices",
        {
            "client_id": portal_client.client_id,
            "site_id": portal_client.world.site["id"],
            "issue": False,
            "lines": [{"description": "Draft charge", "unit_price_minor": 10_000, "reason": "damaged"}],
        },
    )
    r = await asyncio.to_thread(portal_login, live_http, portal_client.admin_email)
    assert r.status_code == 303
    for path in (
        f"/portal/invoices/{draft['id']}",
        f"/portal/invoices/{draft['id']}/pdf",
        f"/portal/credit-notes/{pending['id']}",
        f"/portal/credit-notes/{pending['id']}/pdf",
        f"/portal/invoices/{uuid.uuid4()}",
        f"/portal/payments/{uuid.uuid4()}",
    ):
        r = await asyncio.to_thread(live_http.get, path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
    r = await asyncio.to_thread(live_http.get, "/portal/statements/2031-13/pdf")
    assert r.status_code == 422
    r = await asyncio.to_thread(live_http.get, f"/portal/invoices/{inv['id']}/pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert_pdf(r.content)
    # the API reads by the same rule: the pending note is finance's, listed to finance only
    mine = Api(http, await token_for(http, portal_client.viewer_email, PASSWORD))
    assert [n["id"] for n in await finance.get(f"/v1/invoices/{inv['id']}/credit-notes")] == [pending["id"]]
    assert await mine.get(f"/v1/invoices/{inv['id']}/credit-notes") == []
    await mine.call("GET", f"/v1/credit-notes/{pending['id']}/pdf", 404)


# ---- Stripe on: the hosted invoice page -------------------------------------------------------


@pytest.fixture
def stripe_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeStandIn]:
    """Stripe switched on for the live server (it reads the process's settings), on a stand-in."""
    standin = StripeStandIn().start()
    settings = get_settings()
    monkeypatch.setattr(settings, "stripe_api_key", "sk_test_standin")
    monkeypatch.setattr(settings, "stripe_api_base", standin.base_url)
    monkeypatch.setattr(settings, "stripe_webhook_secret", standin.webhook_secret)
    yield standin
    standin.stop()


async def test_with_stripe_on_the_client_pays_on_stripes_hosted_page_and_sees_it_paid(
    page: Page,
    staff: Api,
    finance: Api,
    db: asyncpg.Pool,
    http: httpx.AsyncClient,
    portal_client: PortalClient,
    stripe_on: StripeStandIn,
) -> None:
    from tests.billing.conftest import app_of

    maker: async_sessionmaker[AsyncSession] = app_of(finance).state.sessionmaker
    gateway = StripeGateway("sk_test_standin", stripe_on.base_url, timeout=5)
    inv = await billed(staff, finance, portal_client)

    await login(page, portal_client.admin_email, where="/portal")
    await page.wait_for_url(re.compile(r".*/portal/$"))
    await page.goto(f"/portal/invoices/{inv['id']}")
    # not in Stripe yet: no link, and the page says it is coming
    assert await page.locator("#pay-online").count() == 0
    assert await page.locator("#pay-link-pending").is_visible()

    # the worker pushes this invoice (others' pushes wait a day): Stripe finalizes it with its hosted page
    await db.execute(
        "UPDATE invoices SET stripe_next_attempt_at = CASE WHEN id = $1 THEN now() ELSE now() + interval '1 day' END "
        "WHERE stripe_state IN ('pending', 'void_pending')",
        uuid.UUID(inv["id"]),
    )
    assert await worker.sync_next_invoice(maker, gateway) == "synced"
    stored = await db.fetchval("SELECT stripe_hosted_url FROM invoices WHERE id = $1", uuid.UUID(inv["id"]))
    assert stored is not None
    assert stored.startswith(stripe_on.base_url + "/i/in_")
    # a client's developer finds the same link in the API
    mine = Api(http, await token_for(http, portal_client.viewer_email, PASSWORD))
    assert (await mine.get(f"/v1/invoices/{inv['id']}"))["hosted_invoice_url"] == stored

    await page.reload()
    link = page.locator("#pay-online")
    assert await link.get_attribute("href") == stored
    assert await link.get_attribute("rel") == "noopener noreferrer"
    await shot(page, "portal-invoice-pay-online")
    async with page.context.expect_page() as opened:
        await link.click()
    stripe_page = await opened.value
    await stripe_page.wait_for_load_state()
    assert "Amount due" in await stripe_page.locator("#state").inner_text()
    await stripe_page.locator("#pay").click()
    await stripe_page.wait_for_load_state()
    assert await stripe_page.locator("#state").inner_text() == "Paid"
    await stripe_page.close()

    # Stripe's invoice.paid arrives through the signed webhook and the worker records the payment
    (payload, signature), *_ = stripe_on.take_outbox()
    r = await post_event(http, payload, signature)
    assert r.status_code == 200, r.text
    _, row = await handle(maker, gateway, db, json.loads(payload)["id"])
    assert (row["state"], row["outcome"]) == ("done", "paid"), row
    await page.reload()
    assert "paid" in await page.locator("#invoice-status").inner_text()
    assert await page.locator("#pay").count() == 0
    assert "Stripe" in await page.locator("#invoice-payments").inner_text()
    await shot(page, "portal-invoice-paid")
