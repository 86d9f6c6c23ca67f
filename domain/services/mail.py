"""Email, the outbox half: queue a message in the caller's transaction, read what is queued.

A message is written with the change that causes it (one transaction: if the change rolls back, so
does the message; if it commits, the message is there for the sender), under a ``dedupe_key`` that
is unique: queueing the same key again returns the message already queued and writes nothing. The
sender (domain/services/mail_send.py, run by the worker) claims due rows one by one with
FOR UPDATE SKIP LOCKED and marks them sent in the transaction that claimed them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, SecretStr
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.mail import EMAIL_STATUSES, EmailAttachment, EmailOutbox, EmailStatus

SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class MailConfig:
    """The sender's settings (composed by service/settings.py from SEATLEASE_SMTP_*). No host:
    nothing is sent, messages stay pending."""

    host: str | None = None
    port: int | None = None  # None: 587 (starttls), 465 (tls), 25 (none)
    username: str | None = None
    password: SecretStr | None = None
    security: SmtpSecurity = "starttls"
    from_addr: str | None = None
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    backoff_base_seconds: float = 60.0
    backoff_cap_seconds: float = 3600.0
    batch_size: int = 50
    # a CA bundle (PEM) to verify the server's certificate with, besides the system's (a private relay)
    ca_file: str | None = None

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


class EmailView(BaseModel):
    """What a queued message shows to whom it concerns: never its body, nor the SMTP server's errors."""

    id: uuid.UUID
    to: list[str]
    subject: str
    status: EmailStatus
    queued_at: datetime
    sent_at: datetime | None


def email_view(row: EmailOutbox) -> EmailView:
    return EmailView(
        id=row.id,
        to=list(row.to_addrs),
        subject=row.subject,
        status=row.status,  # type: ignore[arg-type]  # the check constraint keeps it one of EmailStatus
        queued_at=row.created_at,
        sent_at=row.sent_at,
    )


async def queue_email(
    session: AsyncSession,
    *,
    to: Sequence[str],
    subject: str,
    body: str,
    dedupe_key: str,
    topic: str,
    client_id: uuid.UUID | None = None,
    object_id: uuid.UUID | None = None,
    attachments: Sequence[Attachment] = (),
    created_by: uuid.UUID | None = None,
) -> tuple[EmailOutbox, bool]:
    """Queue a message in the caller's transaction; returns it and whether it is new (False: this
    ``dedupe_key`` was queued before, and that message is returned unchanged)."""
    if not to:
        raise ValueError("a message needs at least one recipient")
    new_id = (
        await session.execute(
            insert(EmailOutbox)
            .values(
                id=uuid.uuid4(),
                dedupe_key=dedupe_key,
                topic=topic,
                client_id=client_id,
                object_id=object_id,
                to_addrs=list(to),
                subject=subject,
                body=body,
                created_by=created_by,
            )
            .on_conflict_do_nothing(index_elements=[EmailOutbox.dedupe_key])
            .returning(EmailOutbox.id)
        )
    ).scalar_one_or_none()
    if new_id is None:
        # a concurrent insert of the same key waits for that transaction, then lands here
        return (await session.scalars(select(EmailOutbox).where(EmailOutbox.dedupe_key == dedupe_key))).one(), False
    for a in attachments:
        session.add(EmailAttachment(email_id=new_id, filename=a.filename, content_type=a.content_type, content=a.content))
    await session.flush()
    row = await session.get(EmailOutbox, new_id)
    assert row is not None
    return row, True


async def emails_about(session: AsyncSession, object_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[EmailOutbox]]:
    """The messages queued about each object (e.g. a proposal), oldest first."""
    out: dict[uuid.UUID, list[EmailOutbox]] = {i: [] for i in object_ids}
    if not object_ids:
        return out
    rows = await session.scalars(
        select(EmailOutbox).where(EmailOutbox.object_id.in_(object_ids)).order_by(EmailOutbox.created_at, EmailOutbox.id)
    )
    for row in rows:
        if row.object_id is not None:
            out[row.object_id].append(row)
    return out


async def count_about(session: AsyncSession, object_id: uuid.UUID, topic: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(EmailOutbox).where(EmailOutbox.object_id == object_id, EmailOutbox.topic == topic)
        )
        or 0
    )


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    """Messages by state ({"pending", "sent", "failed"}), for the integrations page and /metrics."""
    rows = (await session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status))).all()
    counts: dict[str, int] = dict.fromkeys(EMAIL_STATUSES, 0)
    counts.update({str(s): int(n) for s, n in rows})
    return counts
