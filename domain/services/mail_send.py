"""Email, the sending half: the worker's pass over the outbox (domain/services/mail.py) with aiosmtplib.

Each message is claimed in its own transaction (FOR UPDATE SKIP LOCKED: another worker skips it),
handed to the SMTP server, and marked in that same transaction: sent, or its attempt counted and
retried later with backoff (a 4xx answer, no connection, a timeout, a refused login), or ``failed``
after ``max_attempts``, or at once when the server refuses the message or all its recipients for
good (5xx). Two workers never send one message twice; only a crash between the server's "250 OK"
and the commit can repeat one, and then with the same Message-ID (made from the row's id), which
lets the receiving side recognise it.

Nothing is logged of a message but its id, attempt and the server's answer: never its body, its
attachments nor the SMTP password."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models.mail import EmailAttachment, EmailOutbox
from domain.services.mail import MailConfig

logger = logging.getLogger("seatlease.mail")


def build_message(config: MailConfig, row: EmailOutbox, attachments: list[EmailAttachment]) -> EmailMessage:
    assert config.from_addr is not None
    msg = EmailMessage()
    msg["From"] = config.from_addr
    msg["To"] = ", ".join(row.to_addrs)
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    # stable across retries: a message repeated after a crash carries the same id
    msg["Message-ID"] = f"<{row.id}@{config.from_addr.rsplit('@', 1)[-1]}>"
    msg.set_content(row.body)
    for a in attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(a.content, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename)
    return msg


async def _deliver(config: MailConfig, msg: EmailMessage) -> dict[str, Any]:
    refused, _answer = await aiosmtplib.send(
        msg,
        hostname=config.host,
        port=config.smtp_port,
        username=config.username,
        password=config.password.get_secret_value() if config.password is not None else None,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        timeout=config.timeout_seconds,
        cert_bundle=config.ca_file,
    )
    return dict(refused)


def _describe(exc: BaseException) -> tuple[str, bool]:
    """The server's answer (or the transport's error) and whether it is permanent."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return f"recipients refused: {text}"[:1000], bool(codes) and all(c >= 500 for c in codes)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # a 5xx to the message itself is final; a refused login or From address is the sender's
        # configuration, retried (an operator fixes it) like a 4xx or a lost connection
        return f"{exc.code} {exc.message}"[:1000], isinstance(exc, aiosmtplib.SMTPDataError) and exc.code >= 500
    return f"{type(exc).__name__}: {exc}"[:1000], False


def backoff(config: MailConfig, attempts: int) -> timedelta:
    return timedelta(seconds=min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempts - 1)))


def _about_the_message(exc: BaseException) -> bool:
    """The server refused this message or its recipients; anything else (no connection, a timeout,
    a refused login or From address) is about the server, and would be the same for the next one."""
    return isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPDataError)


async def _one(session: AsyncSession, config: MailConfig, now: datetime) -> str | None:
    row = (
        await session.scalars(
            select(EmailOutbox)
            .where(EmailOutbox.status == "pending", EmailOutbox.next_attempt_at <= now)
            .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None:
        return None
    attachments = list(
        await session.scalars(select(EmailAttachment).where(EmailAttachment.email_id == row.id).order_by(EmailAttachment.id))
    )
    row.attempts += 1
    try:
        refused = await _deliver(config, build_message(config, row, attachments))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        error, permanent = _describe(exc)
        row.last_error = error
        if permanent or row.attempts >= config.max_attempts:
            row.status = "failed"
            logger.error("email %s failed for good after %d attempt(s): %s", row.id, row.attempts, error)
            return "failed"
        row.next_attempt_at = now + backoff(config, row.attempts)
        logger.warning("email %s: attempt %d failed, retried at %s: %s", row.id, row.attempts, row.next_attempt_at, error)
        return "retry" if _about_the_message(exc) else "server_down"
    row.status = "sent"
    row.sent_at = now
    # some recipients refused while others took it: sent, and the refusals kept
    row.last_error = "; ".join(f"{k}: {v.code} {v.message}" for k, v in refused.items())[:1000] or None
    return "sent"


async def send_due(maker: async_sessionmaker[AsyncSession], config: MailConfig, *, now: datetime | None = None) -> dict[str, Any]:
    """Send up to ``batch_size`` due messages, each in its own transaction. Without an SMTP host
    (or a From address) nothing is touched: the messages wait, pending."""
    if not config.host or not config.from_addr:
        return {"skipped": "SEATLEASE_SMTP_HOST and SEATLEASE_SMTP_FROM are not both set", "sent": 0}
    report = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(config.batch_size):
        async with maker() as session, session.begin():
            outcome = await _one(session, config, now or datetime.now(UTC))
        if outcome is None:
            break
        if outcome == "server_down":
            # the next message would meet the same server: the pass ends here rather than spend a
            # timeout on each due message; the rest wait for the next pass, their attempts untouched
            report["retry"] += 1
            break
        report[outcome] += 1
    return report
