"""The SLA targets: GET /v1/sla-policies for staff, PUT for the admin (bad input names the field,
all or nothing, audited), a new target timing tickets changed after it; the admin's page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin.conftest import login, shot, text_of
from tests.admin.test_admin_browser import staff_login
from tests.factories import Api
from tests.helpdesk.sla_helpers import change, open_ticket, world

DEFAULT_ACCESS = {"urgent": (15, 240), "high": (60, 480), "normal": (240, 1440), "low": (1440, 7200)}


@pytest.fixture
async def restore(admin: Api) -> AsyncIterator[None]:
    """The targets are one table for the whole test database: put the `access` row back."""
    yield
    items = [
        {"priority": p, "category": "access", "response_minutes": r, "resolution_minutes": s, "due_soon_percent": 20}
        for p, (r, s) in DEFAULT_ACCESS.items()
    ]
    await admin.call("PUT", "/v1/sla-policies", json={"items": items}, expect=200)


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    if field is not None:
        assert body.get("field") == field or field in str(body), body
    return body


async def test_staff_read_the_targets_and_only_the_admin_sets_them(
    admin: Api, staff: Api, finance: Api, db: asyncpg.Pool, restore: None
) -> None:
    got = (await staff.get("/v1/sla-policies"))["items"]
    assert len(got) == 24
    assert (got[0]["priority"], got[0]["category"]) == ("urgent", "it")
    urgent_power = next(p for p in got if (p["priority"], p["category"]) == ("urgent", "power"))
    assert (urgent_power["response_minutes"], urgent_power["resolution_minutes"], urgent_power["due_soon_percent"]) == (
        15,
        240,
        20,
    )
    low = next(p for p in got if p["priority"] == "low")
    assert (low["response_minutes"], low["resolution_minutes"]) == (1440, 7200)

    body = {"items": [{"priority": "high", "category": "access", "resolution_minutes": 600, "due_soon_percent": 30}]}
    _problem(await staff.call("PUT", "/v1/sla-policies", json=body), 403)
    _problem(await finance.call("GET", "/v1/sla-policies"), 403)
    put = await admin.call("PUT", "/v1/sla-policies", json=body)
    assert put.status_code == 200, put.text
    row = next(p for p in put.json()["items"] if (p["priority"], p["category"]) == ("high", "access"))
    assert (row["response_minutes"], row["resolution_minutes"], row["due_soon_percent"]) == (60, 600, 30)
    assert row["updated_by"].startswith("admin")
    audit = await db.fetch("SELECT before, after FROM audit_events WHERE action = 'sla_policy.update' ORDER BY id DESC LIMIT 1")
    assert '"resolution_minutes": 600' in audit[0]["after"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"priority": "asap", "category": "access", "response_minutes": 5}, "priority"),
        ({"priority": "high", "category": "access", "response_minutes": 0}, "response_minutes"),
        ({"priority": "high", "category": "access", "resolution_minutes": "4h"}, "resolution_minutes"),
        ({"priority": "high", "category": "access", "due_soon_percent": 95}, "due_soon_percent"),
        ({"priority": "high", "category": "access", "response_minutes": None}, "response_minutes"),
        ({"priority": "high", "category": "access", "minutes": 5}, "minutes"),
        # longer to the first answer than to the resolution: named, nothing written
        ({"priority": "high", "category": "access", "response_minutes": 900}, "items[1].response_minutes"),
    ],
)
async def test_bad_targets_name_their_field(admin: Api, item: dict[str, Any], field: str, restore: None) -> None:
    good = {"priority": "low", "category": "access", "response_minutes": 1000}
    r = await admin.call("PUT", "/v1/sla-policies", json={"items": [good, item] if field.startswith("items") else [item]})
    body = _problem(r, 422)
    assert field in str(body), body
    low = next(p for p in (await admin.get("/v1/sla-policies"))["items"] if (p["priority"], p["category"]) == ("low", "access"))
    assert low["response_minutes"] == 1440  # all or nothing


async def test_a_pair_given_twice_is_refused(admin: Api) -> None:
    items = [{"priority": "low", "category": "access", "response_minutes": 100}] * 2
    _problem(await admin.call("PUT", "/v1/sla-policies", json={"items": items}), 422, "items[1].category")


async def test_a_new_target_times_a_ticket_re_prioritised_after_it(app: FastAPI, admin: Api, staff: Api, restore: None) -> None:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    w = await world(staff)
    start = datetime(2031, 2, 1, 4, tzinfo=UTC)
    tid = await open_ticket(maker, w, start, category="access", priority="normal")
    await admin.call(
        "PUT",
        "/v1/sla-policies",
        json={"items": [{"priority": "high", "category": "access", "resolution_minutes": 120}]},
        expect=200,
    )
    t = await change(maker, tid, start + timedelta(minutes=10), priority="high")
    assert t.resolution_due_at == start + timedelta(hours=2)


async def test_the_admin_edits_targets_on_the_page(page: Page, db: asyncpg.Pool, admin: Api, restore: None) -> None:
    await login(page, await staff_login(db, "admin"))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/sla-policies")
    assert await page.input_value("#urgent\\.power\\.response_minutes") == "15m"
    assert await page.input_value("#low\\.power\\.resolution_minutes") == "5d"
    await page.fill("#normal\\.access\\.resolution_minutes", "1d 4h")
    await page.fill("#normal\\.access\\.response_minutes", "2d")  # longer than the resolution
    await page.click("#sla-save")
    assert "cannot be due after" in await text_of(page.locator('tr[data-policy="normal.access"]'))
    await shot(page, "helpdesk-sla-policies-error")
    await page.fill("#normal\\.access\\.response_minutes", "3h")
    await page.fill("#low\\.access\\.due_soon_percent", "lots")
    await page.click("#sla-save")
    assert "a whole percent" in await text_of(page.locator('tr[data-policy="low.access"]'))
    await page.fill("#low\\.access\\.due_soon_percent", "25")
    await page.click("#sla-save")
    await page.wait_for_url(re.compile(r".*flash=SLA"))
    assert await page.input_value("#normal\\.access\\.resolution_minutes") == "1d 4h"
    assert await page.input_value("#normal\\.access\\.response_minutes") == "3h"
    got = next(
        p for p in (await admin.get("/v1/sla-policies"))["items"] if (p["priority"], p["category"]) == ("normal", "access")
    )
    assert (got["response_minutes"], got["resolution_minutes"]) == (180, 1680)
    await shot(page, "helpdesk-sla-policies")


async def test_facility_staff_read_the_page_but_cannot_save(page: Page, db: asyncpg.Pool) -> None:
    await login(page, await staff_login(db))
    await page.wait_for_url(re.compile(r".*/admin/$"))
    await page.goto("/admin/sla-policies")
    assert await page.locator("#sla-save").count() == 0
    assert await page.get_attribute("#urgent\\.it\\.response_minutes", "readonly") is not None
