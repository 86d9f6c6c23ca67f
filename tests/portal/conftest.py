"""The client portal's tests: the live server and Chromium come from tests/browser.py.

``portal_client`` makes a client (a site, plan, team and agents, through the API as staff) and a
signed-in-able login of it; the tenant walk makes two and checks neither sees the other."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.browser import PASSWORD, login
from tests.conftest import make_user
from tests.factories import Api, World, make_world

__all__ = ["PASSWORD", "PortalClient", "csrf_of", "login", "portal_login"]


@dataclass
class PortalClient:
    world: World
    admin_email: str  # a client_admin of world.client
    viewer_email: str  # a client_viewer of world.client

    @property
    def client_id(self) -> str:
        return str(self.world.client["id"])


async def make_portal_client(staff: Api, db: asyncpg.Pool) -> PortalClient:
    w = await make_world(staff)
    client_id = uuid.UUID(w.client["id"])
    admin_email, _ = await make_user(db, "client_admin", client_id, password=PASSWORD)
    viewer_email, _ = await make_user(db, "client_viewer", client_id, password=PASSWORD)
    return PortalClient(w, admin_email, viewer_email)


@pytest.fixture
async def portal_client(staff: Api, db: asyncpg.Pool) -> PortalClient:
    return await make_portal_client(staff, db)


def portal_login(http: httpx.Client, email: str, next_: str = "/portal/", password: str = PASSWORD) -> httpx.Response:
    """Sign in through the portal's form as a plain HTTP client (the session cookie stays in ``http``)."""
    page = http.get("/portal/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return http.post("/portal/login", data={"csrf_token": token.group(1), "email": email, "password": password, "next": next_})


def csrf_of(html: str) -> str:
    """The CSRF token a portal page signed its forms with."""
    token = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)
