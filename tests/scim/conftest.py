"""The client SCIM endpoint's tests: the real app served by uvicorn on a free localhost port (the
identity provider's calls arrive over HTTP), a client with its SCIM token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.factories import Api, World, make_world


@pytest.fixture(scope="session")
def scim_server(live_server: str) -> str:
    """The whole app served on localhost (tests/browser.py's live server): a SCIM client talks HTTP to it."""
    return live_server


@dataclass
class ScimClient:
    world: World
    token: str
    base: str  # the client's SCIM base URL on the live server

    @property
    def client_id(self) -> str:
        return str(self.world.client["id"])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}


async def scim_client(staff: Api, admin: Api, server: str) -> ScimClient:
    w = await make_world(staff)
    issued = await admin.post(f"/v1/clients/{w.client['id']}/scim-token", None, expect=200)
    return ScimClient(w, issued["token"], f"{server}/scim/v2/clients/{w.client['id']}")
