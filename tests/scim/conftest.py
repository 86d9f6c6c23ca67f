"""The client SCIM endpoint's tests: the real app served by uvicorn on a free localhost port (the
identity provider's calls arrive over HTTP), a client with its SCIM token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from tests.factories import Api, World, make_world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def scim_server(database_url: str) -> Iterator[str]:
    from service.app import create_app

    app = create_app(database_url=database_url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="scim-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


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
