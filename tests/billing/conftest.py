"""Fixtures of the billing tests: unique billing years per test, a session maker, the Stripe stand-in."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.billing.stripe_standin import StripeStandIn
from tests.factories import Api

# a billing run bills every client of a month, so each test bills its own years
_years = itertools.count(2040)


@pytest.fixture
def fresh_year() -> Callable[..., int]:
    def take(*, leap: bool | None = None) -> int:
        while True:
            y = next(_years)
            if leap is None or calendar.isleap(y) == leap:
                return y

    return take


@pytest.fixture
def maker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return app.state.sessionmaker  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def standin() -> Iterator[StripeStandIn]:
    server = StripeStandIn().start()
    yield server
    server.stop()


async def run_month(finance: Api, period: str) -> dict[str, Any]:
    """Start a run through the API and read it back (it runs as the request's background task)."""
    run = await finance.post("/v1/billing/runs", {"period": period}, expect=202)
    assert run["period"] == period
    done = await finance.get(f"/v1/billing/runs/{run['id']}")
    assert done["status"] == "done", done
    return done  # type: ignore[no-any-return]


async def invoices_of(api: Api, client_id: str, period: str) -> list[dict[str, Any]]:
    page = await api.get("/v1/invoices", params={"client_id": client_id, "period": period})
    return [await api.get(f"/v1/invoices/{i['id']}") for i in page["items"]]
