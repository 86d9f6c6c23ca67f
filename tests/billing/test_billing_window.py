"""Which months can be billed: from SEATLEASE_BILLING_ADVANCE_DAYS (default 10) before the month
starts, and any past month; a far-future month is a 422 naming `period` that takes no numbers.
The same rule for the API, the admin's billing page and `seatlease billing run`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from billing.facts import Month
from billing.run import billable_month
from domain.errors import ValidationFailed
from service.settings import Settings
from tests.billing.conftest import drive_runs
from tests.conftest import make_user
from tests.factories import Api

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ADVANCE_DAYS = Settings.model_fields["billing_advance_days"].default


def today() -> date:
    return datetime.now(UTC).date()


def far_month() -> Month:
    """The month after next: always more than 10 days away."""
    return Month.of(today()).next().next()


@pytest.fixture
def default_window(app: FastAPI) -> Iterator[int]:
    """The suite bills far-future months of its own (tests/conftest.py widens the window); here, the default."""
    old = app.state.settings.billing_advance_days
    app.state.settings.billing_advance_days = DEFAULT_ADVANCE_DAYS
    yield DEFAULT_ADVANCE_DAYS
    app.state.settings.billing_advance_days = old


async def footprint(db: asyncpg.Pool, period: str) -> tuple[Any, ...]:
    """The number counters and what exists for the period: none of it may move on a refusal."""
    counters = await db.fetch("SELECT site_id, kind, next_number FROM billing_number_sequences ORDER BY 1, 2")
    runs = await db.fetchval("SELECT count(*) FROM billing_runs WHERE period = $1", period)
    invoices = await db.fetchval("SELECT count(*) FROM invoices WHERE period = $1", period)
    return tuple(tuple(r) for r in counters), runs, invoices


def test_the_rule_at_its_edges() -> None:
    june = "2031-06"
    assert billable_month(june, advance_days=10, today=date(2031, 5, 22)) == Month(2031, 6)
    with pytest.raises(ValidationFailed) as refused:
        billable_month(june, advance_days=10, today=date(2031, 5, 21))
    assert refused.value.field == "period"
    assert "2031-05-22" in refused.value.detail
    assert billable_month(june, advance_days=0, today=date(2031, 6, 1)) == Month(2031, 6)
    with pytest.raises(ValidationFailed):
        billable_month(june, advance_days=0, today=date(2031, 5, 31))
    # any past month, and the month itself
    for period in ("2000-01", "2031-05", "2031-06"):
        assert billable_month(period, advance_days=10, today=date(2031, 6, 15))
    with pytest.raises(ValidationFailed) as bad:
        billable_month("2031-13", advance_days=10, today=date(2031, 6, 15))
    assert bad.value.field == "period"
    assert DEFAULT_ADVANCE_DAYS == 10
    assert Settings(SEATLEASE_BILLING_ADVANCE_DAYS="3").billing_advance_days == 3


async def test_api_refuses_a_far_future_period_and_takes_no_numbers(
    finance: Api, db: asyncpg.Pool, app: FastAPI, default_window: int
) -> None:
    period = str(far_month())
    before = await footprint(db, period)
    r = await finance.call("POST", "/v1/billing/runs", json={"period": period})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["field"] == "period"
    assert period in problem["detail"]
    assert await footprint(db, period) == before

    # the edge through the API: next month is refused with one day too few of advance
    nxt = Month.of(today()).next()
    app.state.settings.billing_advance_days = (nxt.first - today()).days - 1
    r = await finance.call("POST", "/v1/billing/runs", json={"period": str(nxt)})
    assert r.status_code == 422
    assert r.json()["field"] == "period"
    # a past month is always accepted
    app.state.settings.billing_advance_days = 0
    r = await finance.call("POST", "/v1/billing/runs", json={"period": "2000-01"})
    assert r.status_code == 202, r.text
    await drive_runs(app)  # the API queues the run; a worker bills it


async def test_admin_billing_page_refuses_a_far_future_period(
    http: httpx.AsyncClient, db: asyncpg.Pool, default_window: int
) -> None:
    period = str(far_month())
    email, password = await make_user(db, "finance")
    page = await http.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await http.post("/admin/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert r.status_code in (302, 303), r.text[:300]
    try:
        billing = await http.get("/admin/billing")
        token = re.search(r'name="csrf_token" value="([^"]+)"', billing.text)
        assert token is not None
        before = await footprint(db, period)
        r = await http.post("/admin/billing/runs", data={"period": period, "csrf_token": token.group(1)})
        assert r.status_code in (302, 303)
        shown = await http.get(r.headers["location"])
        assert "Run not started" in shown.text
        assert period in shown.text
        assert await footprint(db, period) == before
    finally:
        http.cookies.clear()


def cli(period: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEATLEASE_BILLING_ADVANCE_DAYS"}  # the default window
    env.update(DATABASE_URL=database_url, SEATLEASE_SECRET_KEY="cli-test-" + "k" * 40)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "billing", "run", "--period", period],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def test_cli_refuses_a_far_future_period_and_takes_no_numbers(db: asyncpg.Pool, database_url: str) -> None:
    period = str(far_month())
    before = await footprint(db, period)
    refused = await asyncio.to_thread(cli, period, database_url)
    assert refused.returncode == 2, refused.stderr
    assert "period" in refused.stderr
    assert period in refused.stderr
    assert await footprint(db, period) == before
    accepted = await asyncio.to_thread(cli, "2000-02", database_url)
    assert accepted.returncode == 0, accepted.stderr
    assert "done" in accepted.stdout
