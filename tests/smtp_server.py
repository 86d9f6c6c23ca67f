"""A real SMTP server on localhost (aiosmtpd, in its own thread) that keeps what it receives, and
can be told to refuse the next messages (a 4xx "try later" or a 5xx) or to ask for a login."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from domain.services.mail import MailConfig
from tests.processes import free_port
from tests.tls_postgres import _ca, _cert_pem, _key_pem, _leaf, _pem


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse_next: int = 0
    refusal: str = "451 4.3.0 Try again later"
    # seconds each message takes to be accepted (so that concurrent senders overlap)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return self.refusal
            message = BytesParser(policy=policy.default).parsebytes(envelope.content)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def config(self, **kw: Any) -> MailConfig:
        base: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "from_addr": "billing@seatlease-example.com",
            "timeout_seconds": 10.0,
        }
        return MailConfig(**(base | kw))


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for "localhost" signed by it: (ca.pem, cert.pem, key.pem)."""
    ca_key, ca = _ca("seatlease test mail CA")
    key, cert = _leaf(ca_key, ca, "localhost", server=True)
    return (
        _pem(folder / "ca.pem", _cert_pem(ca)),
        _pem(folder / "cert.pem", _cert_pem(cert)),
        _pem(folder / "key.pem", _key_pem(key)),
    )


@contextmanager
def smtp_server(
    *, login: tuple[str, str] | None = None, tls: Literal["starttls", "tls"] | None = None, cert_dir: Path | None = None
) -> Iterator[Inbox]:
    """An SMTP server on a free localhost port; ``login``: the one user and password it accepts
    (AUTH over plain TCP, allowed here as the test has no TLS); ``tls``: STARTTLS required, or TLS
    from the first byte, with a certificate for "localhost" from ``cert_dir`` (see ``tls_files``)."""
    inbox = Inbox(port=free_port())
    kw: dict[str, Any] = {}
    if tls is not None:
        assert cert_dir is not None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert_dir / "cert.pem", cert_dir / "key.pem")
        if tls == "starttls":
            kw = {"tls_context": ctx, "require_starttls": True}
        else:
            kw = {"ssl_context": ctx, "server_hostname": "localhost"}
    if login is not None:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
            return AuthResult(success=ok, handled=False)

        kw |= {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **kw)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
