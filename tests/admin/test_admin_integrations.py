"""The integrations page in headless Chromium (issue 13): each target says whether it is on and which
setting turns it on; a mass revocation held by the drift guard is confirmed from the page (its
credentials are then revoked) and another is rejected (its credentials stay active)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from playwright.async_api import Page

from provisioning.reconciler import Reconciler
from tests.admin.conftest import PASSWORD, login, shot, text_of
from tests.conftest import make_user
from tests.factories import Api, make_world
from tests.provisioning.conftest import badges, maker, prov_config, radius_db, reconcilers, scim  # noqa: F401 (fixtures)
from tests.provisioning.helpers import seated_lease
from tests.provisioning.test_guard_reject import DIRECTORY_ONLY, STRICT, _clean_up, _held, _pending_guard, drifted_guard

SETTING_OF = {
    "directory": "SCIM_BASE_URL",
    "wifi": "RADIUS_DATABASE_URL",
    "badge": "BADGE_WEBHOOK_URL",
    "stripe": "STRIPE_API_KEY",
    "email": "SEATLEASE_SMTP_HOST",
}


async def test_unconfigured_targets_say_which_setting_turns_them_on(page: Page, db: asyncpg.Pool) -> None:
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)
    await page.locator("nav a", has_text="Integrations").click()
    await page.wait_for_url("**/admin/integrations")
    assert await page.locator("nav a[aria-current=page]").inner_text() == "Integrations"
    for key, setting in SETTING_OF.items():
        card = page.locator(f"#target-{key}")
        assert await card.get_attribute("data-configured") == "no", key
        assert (await text_of(card.locator("h2 .badge"))).strip() == "off"
        note = await text_of(card.locator(".integ-note"))
        assert note.startswith("Off: set"), note
        assert setting in note
        assert setting in await text_of(card.locator("code >> nth=0"))
        for label in ("Last success", "Last error", "Pending", "Failed"):
            assert label in await text_of(card.locator("dl"))
    assert await page.locator("#reconciler h2 .badge").count() == 1
    await shot(page, "integrations-unconfigured")

    # finance may not open it, and its navigation does not offer it
    finance_email, _ = await make_user(db, "finance", password=PASSWORD)
    await login(page, finance_email)
    await page.wait_for_url("**/admin/")
    assert await page.locator("nav a", has_text="Integrations").count() == 0
    response = await page.goto("/admin/integrations")
    assert response is not None
    assert response.status == 403


async def test_a_waiting_guard_is_confirmed_and_another_rejected_from_the_page(
    page: Page,
    staff: Api,
    db: asyncpg.Pool,
    reconcilers: Callable[..., Reconciler],  # noqa: F811 (the fixture imported above)
) -> None:
    rec = reconcilers(**DIRECTORY_ONLY, **STRICT)
    email, _ = await make_user(db, "facility_staff", password=PASSWORD)
    await login(page, email)

    # 1. twenty of a lease's seat rows vanish: their directory accounts are held; confirmed, they are revoked
    lease, seats = await drifted_guard(staff, db, rec, 22, 20)
    try:
        guard = await _pending_guard(staff)
        await page.goto("/admin/integrations")
        card = page.locator(f"#guard-{guard['id']}")
        details = " ".join((await text_of(card)).split())
        assert f"20 of {guard['total_active']} active credentials would be revoked (20 directory)" in details
        assert "held since" in details
        await shot(page, "integrations-guard-waiting")
        asked: list[str] = []

        async def accept(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.once("dialog", accept)
        await card.locator("button.guard-confirm").click()
        await page.locator("#flash", has_text="Confirmed: the reconciler revokes the 20 held credentials").wait_for()
        assert asked == ["Revoke these 20 credentials now?"]
        assert await page.locator(f"#guard-{guard['id']}").count() == 0
        await rec.run_once(sweep=False)
        assert await _held(db, lease, seats) == [(False, "revoking")] * 20
        disabled = await db.fetchval(
            "SELECT count(*) FROM credentials WHERE lease_id = $1 AND seat_id = ANY($2::uuid[]) AND disabled_at IS NOT NULL",
            uuid.UUID(lease["id"]),
            seats,
        )
        assert disabled == 20, "the confirmed revocation reached the directory"
        assert await db.fetchval("SELECT confirmed_by FROM revocation_guards WHERE id = $1", uuid.UUID(guard["id"])) is not None
    finally:
        await _clean_up(staff, rec, lease)

    # 2. another drift, rejected from the page with a reason: its credentials stay active
    lease, seats = await drifted_guard(staff, db, rec, 22, 20)
    try:
        guard = await _pending_guard(staff)
        await page.goto("/admin/integrations")
        card = page.locator(f"#guard-{guard['id']}")
        await card.locator("input[name=reason]").fill("a restore of the seat rows is under way")
        await card.locator("button.guard-reject").click()
        await page.locator("#flash", has_text="Rejected: the 20 held credentials stay active").wait_for()
        standing = page.locator(f"#guard-{guard['id']}")
        assert await standing.get_attribute("data-status") == "rejected"
        assert "a restore of the seat rows is under way" in await text_of(standing)
        assert await standing.locator("button").count() == 0
        await shot(page, "integrations-guard-rejected")
        for _ in range(2):
            await rec.run_once(sweep=False)
        assert await _held(db, lease, seats) == [(True, "active")] * 20
        assert await staff.get("/v1/provisioning/guards", params={"status": "pending"}) == []
        # the directory card counts the held credentials among the active ones
        await page.goto("/admin/integrations")
        assert "active" in await text_of(page.locator("#target-directory .integ-counts"))
    finally:
        await _clean_up(staff, rec, lease)


async def test_the_lease_page_shows_credentials_turn_active_without_a_reload(
    page: Page,
    staff: Api,
    db: asyncpg.Pool,
    reconcilers: Callable[..., Reconciler],  # noqa: F811 (the fixture imported above)
) -> None:
    rec = reconcilers(**DIRECTORY_ONLY)
    w = await make_world(staff)
    lease = await seated_lease(staff, w, seats=2)
    try:
        await rec.derive()  # the agents' accounts are due, not granted yet
        email, _ = await make_user(db, "facility_staff", password=PASSWORD)
        await login(page, email)
        await page.goto(f"/admin/leases/{lease['id']}")
        card = page.locator("#credentials")
        assert await card.get_attribute("data-settling") == "yes"
        assert await card.locator(".badge.st-pending").count() == 2
        # the provisioning queue, open in another tab, counts them as pending
        queue = await page.context.new_page()
        await queue.goto("/admin/provisioning?state=active")
        active_tab = queue.locator("nav.tabs a", has_text="active").locator("b")
        active_before = int(await text_of(active_tab))
        assert int(await text_of(queue.locator("nav.tabs a", has_text="pending").locator("b"))) >= 2
        assert await queue.locator("#prov-live").get_attribute("data-settling") == "yes"
        await rec.drain()
        # the card asks for itself again: the accounts turn active on the open page
        await page.locator("#credentials[data-settling=no]").wait_for(timeout=10_000)
        assert await page.locator("#credentials .badge.st-active").count() == 2
        await shot(page, "lease-credentials-active")
        # and so does the queue: two more active, without a reload
        deadline = asyncio.get_running_loop().time() + 10
        while int(await text_of(active_tab)) < active_before + 2:
            assert asyncio.get_running_loop().time() < deadline, "the queue did not refresh"
            await asyncio.sleep(0.25)
        await shot(queue, "provisioning-queue-active")
        await queue.close()
    finally:
        await _clean_up(staff, rec, lease)
