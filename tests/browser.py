"""The real app served by uvicorn on a free localhost port, and Debian's Chromium driven by Playwright.

A pytest plugin (tests/conftest.py lists it): the admin's and the portal's browser tests share one
server and one browser per session."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Locator, Page

from tests.processes import free_port

CHROMIUM = os.environ.get("SEATLEASE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The whole app (API and admin) in uvicorn, in a thread with its own event loop."""
    from service.app import create_app

    app = create_app(database_url=database_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="admin-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser tests")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
async def page(request: pytest.FixtureRequest, browser: Browser, live_server: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    pg = await context.new_page()
    (SCREENSHOTS / f"FAILED-{request.node.name}.png").unlink(missing_ok=True)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:  # what the browser showed when the test failed
        await shot(pg, "FAILED-" + request.node.name)
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def login(page: Page, email: str, password: str = PASSWORD, *, where: str = "/admin") -> None:
    """Sign in through the sign-in form of the admin, or of the client portal (``where="/portal"``)."""
    await page.goto(where + "/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def text_of(locator: Locator) -> str:
    """The element's text; the element is there, so it has one."""
    text = await locator.text_content()
    assert text is not None
    return text


async def attr(locator: Locator, name: str) -> str:
    """An attribute the page always renders on this element."""
    value = await locator.get_attribute(name)
    assert value is not None, name
    return value


async def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def live_http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        yield client
