"""Real peers on localhost for the provisioning tests: a SCIM server (scim2-server's ASGI app over
its in-memory storage) that can be told to misbehave, and an access-control receiver for badges."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.utils import load_default_provider

from provisioning.providers.badges import SIGNATURE_HEADER, verify

Scope = dict[str, Any]


class ThreadServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:  # an ASGI app
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def _send(send: Any, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/scim+json")]})
    await send({"type": "http.response.body", "body": raw})


class FlakyScim:
    """scim2-server, behind a switch that makes the next `fail_next` requests fail in turn with a
    503, a timeout after the request was applied (the client never hears it succeeded), and a
    uniqueness conflict; it counts user creations per externalId."""

    MODES = ("503", "timeout", "conflict")

    def __init__(self) -> None:
        self.storage = AsyncInMemoryStorage()
        self.app = ASGIApplication(self.storage, load_default_provider())
        self.fail_next = 0
        self.timeout_seconds = 1.5
        self.failures: Counter[str] = Counter()
        self.requests = 0
        self.creates: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            mode = self.MODES[self.fail_next % len(self.MODES)]
            self.failures[mode] += 1
            if mode == "503":
                await _send(send, 503, {"status": "503", "detail": "maintenance"})
                return
            if mode == "conflict" and scope["method"] == "POST":
                await _send(
                    send,
                    409,
                    {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "status": "409",
                        "scimType": "uniqueness",
                        "detail": "busy",
                    },
                )
                return
            if mode == "timeout":
                captured: list[dict[str, Any]] = []

                async def hold(message: dict[str, Any]) -> None:
                    captured.append(message)

                await self._serve(scope, receive, hold)
                await asyncio.sleep(self.timeout_seconds)
                for m in captured:
                    try:
                        await send(m)
                    except Exception:  # the client gave up, as intended
                        return
                return
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/Users"):
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            status: list[int] = []

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def watch(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                await send(message)

            await self.app(scope, replay, watch)
            if status and status[0] == 201:
                self.creates[str(json.loads(body).get("externalId"))] += 1
            return
        await self.app(scope, receive, send)

    def users(self) -> list[dict[str, Any]]:
        return [r.model_dump() for r in self.storage.resources if "userName" in r.model_dump()]


class BadgeReceiver:
    """The facility's access-control system: verifies the HMAC of each webhook and keeps, per
    holder, the access groups and the validity end it was last told."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.holders: dict[str, dict[str, Any]] = {}
        self.accepted = 0
        self.rejected = 0
        self.seen_events: set[str] = set()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if not verify(self.secret, body, headers.get(SIGNATURE_HEADER.lower(), "")):
            self.rejected += 1
            await _send(send, 401, {"detail": "bad signature"})
            return
        self.accepted += 1
        event = json.loads(body)
        if event["event_id"] not in self.seen_events:
            self.seen_events.add(event["event_id"])
            self.holders[event["holder_id"]] = event
        await _send(send, 200, {"ok": True})

    def active(self, holder_id: str) -> bool:
        h = self.holders.get(holder_id)
        return bool(h and h["action"] == "grant" and h["access_groups"])
