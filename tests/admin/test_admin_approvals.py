"""Approvals (issue 13): a credit note waiting for approval shows what is asked (amount, reason, who
asked) with Reject beside Approve; a reason is required, kept and shown afterwards; a double submit
rejects once; the API does the same; a lease waiting for approval shows its discount and price."""

from __future__ import annotations

import asyncio
import itertools
import re

import asyncpg
import httpx
from playwright.async_api import Page

from domain.rules.money import format_money
from tests.admin.conftest import login, shot
from tests.admin.test_admin_browser import staff_login
from tests.admin.test_admin_http import admin_login
from tests.admin.test_admin_invoices import bill, credit_notes, invoice_of
from tests.factories import Api, lease_body, make_world

_years = itertools.count(2186)  # billed by no other test


async def pending_note(staff: Api, finance: Api, reason: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    y = next(_years)
    w = await make_world(staff)
    await staff.post("/v1/leases", lease_body(w, seat_count=2, start_date=f"{y}-01-01"))
    await bill(finance, f"{y}-01")
    inv = await invoice_of(finance, w, f"{y}-01")
    cn = await finance.post(f"/v1/invoices/{inv['id']}/credit-notes", {"reason": reason})
    assert cn["status"] == "pending_approval", cn
    return inv, cn


async def test_reject_a_credit_note_with_a_reason(page: Page, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    inv, cn = await pending_note(staff, finance, "client disputes the setup fee")
    asker = await db.fetchval(
        "SELECT email FROM users WHERE id = (SELECT created_by FROM credit_notes WHERE id = $1::uuid)", cn["id"]
    )
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/invoices/{inv['id']}")
    row = page.locator(f"#cn-{cn['id']}")
    text = await row.inner_text()
    # what is asked: the amount (on the button), the reason, who asked
    assert "client disputes the setup fee" in text
    assert f"by {asker}" in text
    assert await row.get_by_role("button", name="Approve").inner_text() == f"Approve {format_money(cn['total_minor'], 'PHP')}"

    # no reason: refused next to the field, nothing rejected
    await row.locator(".reject-btn").click()
    error = page.locator(f"#reject-{cn['id']}-error")
    await error.wait_for()
    assert "say why" in await error.inner_text()
    assert (await credit_notes(finance, inv["id"]))[0]["status"] == "pending_approval"

    await page.fill(f"#reject-reason-{cn['id']}", "already refunded by bank transfer")
    await shot(page, "credit-note-reject")
    await page.locator(f"#cn-{cn['id']} .reject-btn").click()
    await page.locator("#flash", has_text="Credit note rejected").wait_for()
    shown = await page.locator(f"#rejection-{cn['id']}").inner_text()
    assert "already refunded by bank transfer" in shown
    assert "rejected by finance-" in shown
    (note,) = await credit_notes(finance, inv["id"])
    assert (note["status"], note["rejection_reason"], note["number"]) == ("rejected", "already refunded by bank transfer", None)
    assert await page.locator(f"#cn-{cn['id']} .approve-btn").count() == 0
    # the billing page says why too
    await page.goto("/admin/billing")
    assert "already refunded by bank transfer" in await page.locator("#credit-notes").inner_text()
    events = await db.fetch("SELECT after FROM audit_events WHERE object_id = $1 AND action = 'credit_note.reject'", cn["id"])
    assert len(events) == 1


async def test_a_double_submit_rejects_once(live_http: httpx.Client, staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    inv, cn = await pending_note(staff, finance, "duplicate")
    assert (await asyncio.to_thread(admin_login, live_http, await staff_login(db, "finance"))).status_code == 303
    page = await asyncio.to_thread(live_http.get, f"/admin/invoices/{inv['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    url = f"/admin/invoices/{inv['id']}/credit-notes/{cn['id']}/reject"
    data = {"csrf_token": token.group(1), "reject_reason": "sent twice"}
    answers = await asyncio.gather(*(asyncio.to_thread(live_http.post, url, data=data) for _ in range(4)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [303, 409, 409, 409], codes
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'credit_note.reject'", cn["id"])
        == 1
    )
    live_http.cookies.clear()


async def test_a_double_submitted_approval_issues_once(
    live_http: httpx.Client, staff: Api, finance: Api, db: asyncpg.Pool
) -> None:
    """The invoice page looks the note up before the use-case locks it: the locked read must not
    answer from that earlier load, or four submits at once would issue it more than once."""
    inv, cn = await pending_note(staff, finance, "approved twice")
    assert (await asyncio.to_thread(admin_login, live_http, await staff_login(db, "finance"))).status_code == 303
    page = await asyncio.to_thread(live_http.get, f"/admin/invoices/{inv['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    url = f"/admin/invoices/{inv['id']}/credit-notes/{cn['id']}/approve"
    answers = await asyncio.gather(
        *(asyncio.to_thread(live_http.post, url, data={"csrf_token": token.group(1)}) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [303, 409, 409, 409]
    row = await db.fetchrow("SELECT status, number_label FROM credit_notes WHERE id = $1", cn["id"])
    assert row["status"] == "issued"
    assert row["number_label"]
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = 'credit_note.approve'", cn["id"])
        == 1
    )
    live_http.cookies.clear()


async def test_the_api_rejects_with_a_reason(staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    _, cn = await pending_note(staff, finance, "api")
    url = f"/v1/credit-notes/{cn['id']}/reject"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = await finance.call("POST", url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert "reason" in r.text
    assert (await staff.call("POST", url, json={"reason": "x"})).status_code == 403  # facility staff
    done = await finance.post(url, {"reason": "over the refund policy"}, expect=200)
    assert (done["status"], done["rejection_reason"]) == ("rejected", "over the refund policy")
    assert done["rejected_by"] is not None
    assert (await finance.call("POST", url, json={"reason": "again"})).status_code == 409
    assert (await finance.call("POST", f"/v1/credit-notes/{cn['id']}/approve")).status_code == 409


async def test_a_lease_waiting_for_approval_shows_what_is_asked(page: Page, staff: Api, db: asyncpg.Pool) -> None:
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=3, discount_pct="25", start_date="2036-01-01"))
    assert lease["status"] == "pending_approval"
    asker = await db.fetchval(
        "SELECT email FROM users WHERE id = (SELECT created_by FROM leases WHERE id = $1::uuid)", lease["id"]
    )
    await login(page, await staff_login(db, "finance"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto(f"/admin/leases/{lease['id']}")
    assert await page.locator("#ask-discount").inner_text() == "25.00%"
    # the plan's PHP 15,000.00 a seat, less 25%: PHP 11,250.00; three seats
    assert await page.locator("#ask-price").inner_text() == "PHP 15,000.00 → PHP 11,250.00/seat/month"
    assert await page.locator("#ask-monthly").inner_text() == "PHP 33,750.00 for 3 seats before tax"
    assert asker in await page.locator("#ask-by").inner_text()
    assert await page.locator("#approve-btn").is_visible()
    assert await page.locator("#reject-btn").is_visible()
    await shot(page, "lease-approval-ask")
    # rejected with a reason: shown on the lease afterwards, asked once
    await page.fill("#reject_reason", "25% is above the account's ceiling")
    await page.click("#reject-btn")
    await page.locator("#rejection-reason").wait_for()
    assert await page.locator("#rejection-reason").inner_text() == "25% is above the account's ceiling"
    assert await page.locator("#approval-ask").count() == 0


async def test_concurrent_api_rejects_take_effect_once(staff: Api, finance: Api, db: asyncpg.Pool) -> None:
    _, cn = await pending_note(staff, finance, "twice over the API")
    w = await make_world(staff)
    lease = await staff.post("/v1/leases", lease_body(w, seat_count=1, discount_pct="30", start_date="2036-03-01"))
    for url, object_id, action in (
        (f"/v1/credit-notes/{cn['id']}/reject", cn["id"], "credit_note.reject"),
        (f"/v1/leases/{lease['id']}/reject", lease["id"], "lease.reject"),
    ):
        answers = await asyncio.gather(*(finance.call("POST", url, json={"reason": f"no {i}"}) for i in range(4)))
        assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], url
        assert await db.fetchval("SELECT count(*) FROM audit_events WHERE object_id = $1 AND action = $2", object_id, action) == 1
