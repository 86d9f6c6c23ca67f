"""The email outbox and its sender against a real SMTP server (aiosmtpd on localhost): a message is
queued in the caller's transaction once per dedupe key, two concurrent senders deliver each message
exactly once, a refusing server is retried with backoff until it accepts, a message fails for good
after its attempts, and nothing is sent (or logged of a message or the password) without cause."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import EmailOutbox
from domain.services.mail import Attachment, outbox_counts, queue_email
from domain.services.mail_send import send_due
from service.worker import jobs, send_mail
from tests.factories import Api
from tests.smtp_server import Inbox, smtp_server, tls_files


def _addr() -> str:
    return f"mail-{uuid.uuid4().hex[:10]}@seatlease-example.com"


async def _queue(maker: async_sessionmaker[AsyncSession], to: str, n: int = 1, **kw: object) -> list[uuid.UUID]:
    ids = []
    async with maker() as s, s.begin():
        for i in range(n):
            row, new = await queue_email(
                s,
                to=[to],
                subject=f"Test {i}",
                body=f"body {i}",
                dedupe_key=f"test:{to}:{i}",
                topic="test",
                **kw,  # type: ignore[arg-type]
            )
            assert new
            ids.append(row.id)
    return ids


async def _rows(maker: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]) -> list[EmailOutbox]:
    async with maker() as s:
        return list(await s.scalars(select(EmailOutbox).where(EmailOutbox.id.in_(ids)).order_by(EmailOutbox.subject)))


async def _drain(maker: async_sessionmaker[AsyncSession], inbox: Inbox) -> None:
    """Other tests' pending messages delivered first, so that this test counts only its own."""
    while (await send_due(maker, inbox.config()))["sent"]:
        pass
    inbox.received.clear()


async def test_a_message_is_queued_in_the_callers_transaction_once_per_dedupe_key(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    key = f"test:{uuid.uuid4()}"
    # rolled back with the change that caused it: never there
    async with maker() as s:
        await s.begin()
        await queue_email(s, to=[_addr()], subject="S", body="B", dedupe_key=key, topic="test")
        await s.rollback()
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(EmailOutbox).where(EmailOutbox.dedupe_key == key)) == 0

    # two transactions queueing the same key at once: one message, both see it
    async def queue() -> tuple[uuid.UUID, bool]:
        async with maker() as s, s.begin():
            row, new = await queue_email(
                s,
                to=[_addr()],
                subject="S",
                body="B",
                dedupe_key=key,
                topic="test",
                attachments=[Attachment("a.txt", "text/plain", b"x")],
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the other one inserts
            return row.id, new

    (id1, new1), (id2, new2) = await asyncio.gather(queue(), queue())
    assert id1 == id2
    assert sorted([new1, new2]) == [False, True]
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(EmailOutbox).where(EmailOutbox.dedupe_key == key)) == 1


async def test_two_concurrent_senders_deliver_each_message_exactly_once(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    with smtp_server() as inbox:
        await _drain(maker, inbox)
        to = _addr()
        ids = await _queue(maker, to, 24)
        inbox.delay = 0.02  # each delivery takes a moment: the two passes overlap
        cfg = inbox.config()
        first, second = await asyncio.gather(send_due(maker, cfg), send_due(maker, cfg))
        got = inbox.to(to)
    # both worked, side by side
    assert first["sent"] > 0, (first, second)
    assert second["sent"] > 0, (first, second)
    assert first["sent"] + second["sent"] == 24
    assert len(got) == 24
    assert sorted(r.message["Subject"] for r in got) == sorted(f"Test {i}" for i in range(24))
    assert len({r.message["Message-ID"] for r in got}) == 24
    rows = await _rows(maker, ids)
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert all(r.sent_at is not None for r in rows)


async def test_a_refusing_server_is_retried_with_backoff_until_it_accepts(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    with smtp_server() as inbox:
        await _drain(maker, inbox)
        to = _addr()
        [email_id] = await _queue(maker, to)
        now = datetime.now(UTC)
        inbox.refuse_next = 2
        cfg = inbox.config(backoff_base_seconds=60, backoff_cap_seconds=600, max_attempts=5)
        assert (await send_due(maker, cfg, now=now))["retry"] == 1
        [row] = await _rows(maker, [email_id])
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error is not None
        assert row.last_error.startswith("451")
        assert row.next_attempt_at == now + timedelta(seconds=60)
        # not due yet: nothing is tried
        assert await send_due(maker, cfg, now=now + timedelta(seconds=59)) == {"sent": 0, "retry": 0, "failed": 0}
        assert (await send_due(maker, cfg, now=now + timedelta(seconds=61)))["retry"] == 1
        [row] = await _rows(maker, [email_id])
        # the second wait doubles
        assert row.next_attempt_at == now + timedelta(seconds=61 + 120)
        assert (await send_due(maker, cfg, now=now + timedelta(seconds=182)))["sent"] == 1
        got = inbox.to(to)
    [row] = await _rows(maker, [email_id])
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(got) == 1


async def test_a_message_fails_for_good_after_its_attempts_and_the_counts_show_it(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    with smtp_server() as inbox:
        await _drain(maker, inbox)
        async with maker() as s:
            before = await outbox_counts(s)
        to = _addr()
        [email_id] = await _queue(maker, to)
        inbox.refuse_next = 100
        cfg = inbox.config(backoff_base_seconds=0, max_attempts=3)
        # a backoff of 0: retried at once, in the same pass, until its attempts are spent
        report = await send_due(maker, cfg)
        assert report == {"sent": 0, "retry": 2, "failed": 1}
        [row] = await _rows(maker, [email_id])
        assert (row.status, row.attempts) == ("failed", 3)
        # a failed message is not tried again
        inbox.refuse_next = 0
        assert (await send_due(maker, cfg))["sent"] == 0

        # a permanent refusal of the message (5xx) fails it at once
        [perm_id] = await _queue(maker, _addr())
        inbox.refuse_next, inbox.refusal = 1, "554 5.6.0 Message rejected"
        assert (await send_due(maker, inbox.config(max_attempts=8)))["failed"] == 1
        [perm] = await _rows(maker, [perm_id])
        assert (perm.status, perm.attempts) == ("failed", 1)
        assert inbox.received == []
    async with maker() as s:
        after = await outbox_counts(s)
    assert after["failed"] == before["failed"] + 2
    assert after["pending"] == before["pending"]


async def test_without_an_smtp_host_nothing_is_sent_and_messages_stay_pending(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    assert app.state.settings.smtp_host is None  # the default
    assert send_mail in jobs()
    assert send_mail in jobs(with_provisioning=False)
    with smtp_server() as inbox:
        await _drain(maker, inbox)
        to = _addr()
        [email_id] = await _queue(maker, to)
        # the worker's job with the app's settings: no host, nothing tried
        report = await send_mail(maker, app.state.settings)
        assert report["sent"] == 0
        assert "SEATLEASE_SMTP_HOST" in report["skipped"]
        [row] = await _rows(maker, [email_id])
        assert (row.status, row.attempts) == ("pending", 0)
        # once a host is set, the same job sends it
        st = app.state.settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": inbox.port,
                "smtp_security": "none",
                "smtp_from": "b@seatlease-example.com",
            }
        )
        assert (await send_mail(maker, st))["sent"] >= 1
        assert len(inbox.to(to)) == 1


async def test_the_sender_logs_in_and_never_logs_the_password_or_a_message(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    maker = app.state.sessionmaker
    password = "pw-" + uuid.uuid4().hex
    with smtp_server(login=("mailer", password)) as inbox:
        to = _addr()
        async with maker() as s, s.begin():
            row, _ = await queue_email(
                s, to=[to], subject="Private", body="SECRET-BODY-TEXT", dedupe_key=f"test:{to}", topic="test"
            )
        caplog.set_level(logging.DEBUG)
        # a wrong password: refused (535), retried later; the message waits
        wrong = inbox.config(username="mailer", password=SecretStr("not-" + password), backoff_base_seconds=3600)
        report = await send_due(maker, wrong)
        assert report["sent"] == 0
        assert report["retry"] >= 1
        [stored] = await _rows(maker, [row.id])
        assert stored.status == "pending"
        assert stored.last_error is not None
        assert "535" in stored.last_error
        assert password not in stored.last_error
        # the right one: sent (the row is due again once its backoff is over)
        right = inbox.config(username="mailer", password=SecretStr(password))
        later = datetime.now(UTC) + timedelta(hours=2)
        while (await send_due(maker, right, now=later))["sent"]:
            pass
        assert [r.message["Subject"] for r in inbox.to(to)] == ["Private"]
    [stored] = await _rows(maker, [row.id])
    assert stored.status == "sent"
    # what this process logs (the test's SMTP server, logger "mail.log", logs the wire: it is not ours)
    ours = [r for r in caplog.records if r.name != "mail.log"]
    assert any(r.name == "seatlease.mail" and "535" in r.getMessage() for r in ours)
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in ours)
    assert password not in logged
    assert "SECRET-BODY-TEXT" not in logged
    assert repr(right).count(password) == 0  # the config's repr hides it too


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_the_sender_speaks_tls_and_checks_the_servers_certificate(app: FastAPI, tmp_path: Path, mode: str) -> None:
    maker = app.state.sessionmaker
    ca, _cert, _key = tls_files(tmp_path)
    with smtp_server(tls=mode, cert_dir=tmp_path) as inbox:  # type: ignore[arg-type]
        await _drain_tls(maker, inbox, mode, ca)
        to = _addr()
        [email_id] = await _queue(maker, to)
        # a certificate nobody vouches for: refused, the message waits
        untrusted = inbox.config(host="localhost", security=mode, backoff_base_seconds=3600)
        assert (await send_due(maker, untrusted))["retry"] == 1
        [row] = await _rows(maker, [email_id])
        assert row.status == "pending"
        assert row.last_error is not None
        assert "certificate" in row.last_error.lower()
        if mode == "starttls":
            # the server requires STARTTLS: a plain session is refused before any message is sent
            later = datetime.now(UTC) + timedelta(hours=2)
            plain = inbox.config(host="localhost", security="none", backoff_base_seconds=3600)
            assert (await send_due(maker, plain, now=later))["retry"] == 1
        trusted = inbox.config(host="localhost", security=mode, ca_file=str(ca))
        assert (await send_due(maker, trusted, now=datetime.now(UTC) + timedelta(hours=5)))["sent"] == 1
        assert len(inbox.to(to)) == 1


async def _drain_tls(maker: async_sessionmaker[AsyncSession], inbox: Inbox, mode: str, ca: Path) -> None:
    while (await send_due(maker, inbox.config(host="localhost", security=mode, ca_file=str(ca))))["sent"]:
        pass
    inbox.received.clear()


async def test_a_server_that_does_not_answer_ends_the_pass_without_touching_the_other_messages(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    with smtp_server() as inbox:
        await _drain(maker, inbox)
    # the server is gone: its port refuses connections
    ids = await _queue(maker, _addr(), 3)
    report = await send_due(maker, inbox.config(backoff_base_seconds=3600))
    assert report == {"sent": 0, "retry": 1, "failed": 0}
    rows = await _rows(maker, ids)
    assert sorted(r.attempts for r in rows) == [0, 0, 1]
    assert all(r.status == "pending" for r in rows)
    with smtp_server() as inbox2:
        while (await send_due(maker, inbox2.config(), now=datetime.now(UTC) + timedelta(hours=2)))["sent"]:
            pass
    assert {r.status for r in await _rows(maker, ids)} == {"sent"}


async def test_metrics_show_the_outbox_by_state(app: FastAPI, staff: Api) -> None:
    maker = app.state.sessionmaker
    async with maker() as s:
        counts = await outbox_counts(s)
    text = (await staff.call("GET", "/metrics", expect=200)).text
    for status in ("pending", "sent", "failed"):
        assert f'seatlease_emails{{status="{status}"}} {float(counts[status])}' in text
