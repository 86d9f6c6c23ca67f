"""Fixtures of the billing tests: unique billing years per test, a session maker, the Stripe stand-in."""

from __future__ import annotations

import calendar
import itertools
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.config import BillingSettings
from billing.db import driver
from billing.drive import drive_next, drive_run
from billing.stripe_gateway import StripeGateway
from domain.services.audit import SystemActor
from tests.billing.stripe_standin import StripeStandIn
from tests.factories import Api

# a billing run bills every client of a month, so each test bills its own years
_years = itertools.count(2040)
LAST_YEAR = 2196  # the test window's end (tests/conftest.py SEATLEASE_BILLING_ADVANCE_DAYS)


@pytest.fixture
def fresh_year() -> Callable[..., int]:
    def take(*, leap: bool | None = None) -> int:
        while True:
            y = next(_years)
            assert y <= LAST_YEAR, "the suite ran out of far-future years: widen SEATLEASE_BILLING_ADVANCE_DAYS"
            if leap is None or calendar.isleap(y) == leap:
                return y

    return take


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return cast(async_sessionmaker[AsyncSession], app.state.sessionmaker)


@pytest.fixture(scope="session")
def standin() -> Iterator[StripeStandIn]:
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def gateway(standin: StripeStandIn) -> StripeGateway:
    """Our Stripe gateway on the stand-in, with a short timeout so outages are quick to test."""
    return StripeGateway("sk_test_standin", standin.base_url, timeout=0.5)


@pytest.fixture
def clean_standin(standin: StripeStandIn) -> None:
    """The stand-in as a test of Stripe expects it: no injected failures or skews, an empty outbox
    (the stand-in lives for the session; the tests that use Stripe mark themselves with it)."""
    standin.failures.clear()
    standin.outbox.clear()
    standin.amount_due_skew = 0
    standin.timeout_seconds = 1.5


@pytest.fixture
def webhook_secret(app: FastAPI, standin: StripeStandIn) -> Iterator[str]:
    """The app verifies webhooks with the stand-in's signing secret for the test."""
    old = app.state.settings.stripe_webhook_secret
    app.state.settings.stripe_webhook_secret = standin.webhook_secret
    yield standin.webhook_secret
    app.state.settings.stripe_webhook_secret = old


async def drive_runs(app: FastAPI) -> int:
    """A worker's pass over the billing runs: claim each queued run (through the worker's own
    `billing.drive.drive_next`) and bill it, until none is left. The API and the admin only queue
    runs. Returns how many runs were billed; one that fails is marked failed by the run itself, as
    in a worker."""
    maker = app.state.sessionmaker
    settings: BillingSettings = app.state.settings.billing()
    billed = 0
    while True:
        try:
            if await drive_next(maker, SystemActor("worker"), settings) is None:
                return billed
        except Exception:
            logging.getLogger("seatlease.billing").exception("billing run failed")
        billed += 1


def app_of(api: Api) -> FastAPI:
    """The app an in-process API caller talks to."""
    transport = api.http._transport
    assert isinstance(transport, httpx.ASGITransport)
    return cast(FastAPI, transport.app)


async def run_month(finance: Api, period: str) -> dict[str, Any]:
    """Queue a run through the API, let a worker pass bill it, and read it back."""
    run = await finance.post("/v1/billing/runs", {"period": period}, expect=202)
    assert run["period"] == period
    app = app_of(finance)
    # this run first (as the CLI drives its own): a run another test queued for some other month and
    # left undriven (schemathesis queues far-future ones) must not bill this month's charges first
    await drive_run(app.state.sessionmaker, SystemActor("worker"), uuid.UUID(run["id"]), app.state.settings.billing())
    await drive_runs(app)
    done = await finance.get(f"/v1/billing/runs/{run['id']}")
    assert done["status"] == "done", done
    return cast(dict[str, Any], done)


async def invoices_of(api: Api, client_id: str, period: str) -> list[dict[str, Any]]:
    page = await api.get("/v1/invoices", params={"client_id": client_id, "period": period})
    return [await api.get(f"/v1/invoices/{i['id']}") for i in page["items"]]


# --- invoices dated as issued (issue 12) ---
async def dated_as_if_issued_on(finance: Api, period: str, day: date) -> None:
    """A run dates its invoices the day it runs (today, on each site's calendar). The tests bill
    months of far years (each its own, `fresh_year`); one whose statements, aging or journal follow
    several months apart re-dates the month's run invoices (and the true-up credit notes they
    carried) as if the run had issued them on `day`: what the rows hold after a run on that day."""
    maker = app_of(finance).state.sessionmaker
    async with maker() as session, session.begin():
        conn = await driver(session)
        ids = await conn.fetch(
            """UPDATE invoices i SET issue_date = $2::date, due_date = $2::date + c.payment_terms_days, issued_at = $3
               FROM clients c WHERE c.id = i.client_id AND i.period = $1 AND i.kind = 'run' AND i.status <> 'draft'
               RETURNING i.id""",
            period,
            day,
            datetime(day.year, day.month, day.day, tzinfo=UTC),
        )
        await conn.execute(
            "UPDATE credit_notes SET issue_date = $2 WHERE kind = 'trueup' AND invoice_id = ANY($1::uuid[])",
            [r["id"] for r in ids],
            day,
        )


def site_today(site: dict[str, Any]) -> date:
    """Today on the site's calendar: the day an invoice issued now is dated."""
    return datetime.now(ZoneInfo(site["timezone"])).date()
