"""A real webhook receiver on localhost (http.server in its own thread) that verifies each POST's
signature with README's recipe (copied here, not imported: it is what a client's developer writes),
and can be told to fail for a while (500s, or answers slower than the sender's timeout).

Each endpoint under test gets its own path (`/hook/<name>`) and secret(s)."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


# --- README "Webhooks": verifying a delivery ---
def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    items = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = [v for k, v in items if k == "t"]
    if len(t) != 1 or not t[0].isdigit() or abs(time.time() - int(t[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), t[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in items if k == "v1")


# --- end of the recipe ---


@dataclass
class Got:
    path: str
    event_id: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    port: int = 0
    secrets: dict[str, list[str]] = field(default_factory=dict)  # path -> secrets it accepts
    received: list[Got] = field(default_factory=list)  # verified and answered 2xx
    rejected: list[str] = field(default_factory=list)  # paths of POSTs whose signature failed
    fail_next: int = 0  # answer 500 to the next N verified POSTs
    slow_next: int = 0  # sleep `slow_seconds` before answering the next N
    slow_seconds: float = 2.0
    delay: float = 0.0  # every answer takes this long (concurrent senders overlap)
    status: int = 200
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    scheme: str = "http"

    def url(self, name: str) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"  # the certificate names localhost
        return f"{self.scheme}://{host}:{self.port}/hook/{name}"

    def at(self, name: str) -> list[Got]:
        return [g for g in self.received if g.path == f"/hook/{name}"]

    def types(self, name: str) -> list[str]:
        return [g.body["type"] for g in self.at(name)]

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.hits += 1
            keys = self.secrets.get(path, [])
        if not any(verify(k, headers.get("seatlease-signature", ""), raw) for k in keys):
            with self.lock:
                self.rejected.append(path)
            return 400, b"bad signature"
        with self.lock:
            slow = self.slow_next > 0
            self.slow_next -= int(slow)
            fail = not slow and self.fail_next > 0
            self.fail_next -= int(fail)
        if slow:
            time.sleep(self.slow_seconds)
            return 200, b"too late"
        if self.delay:
            time.sleep(self.delay)
        if fail:
            return 500, b"receiver down " + b"x" * 5000
        with self.lock:
            self.received.append(Got(path, headers.get("seatlease-event-id", ""), json.loads(raw), raw, headers))
        return self.status, b"ok"


@contextmanager
def receiver(*, tls_dir: Path | None = None) -> Iterator[Receiver]:
    """On 127.0.0.1; with ``tls_dir`` (tests/smtp_server.py `tls_files`) it speaks https with a
    certificate for "localhost" only."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            code, answer = state.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            try:
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "http://169.254.169.254/")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up (its timeout): that is the point of a slow answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls_dir is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls_dir / "cert.pem", tls_dir / "key.pem")
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        state.scheme = "https"
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
