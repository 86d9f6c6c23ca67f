"""What the integrations page shows of one target system (directory, Wi-Fi, badges, Stripe, email):
the typed row each part fills for its own targets (provisioning, billing, and email here), composed
by the service (service/integrations.py), so that the API and the admin show the same figures."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services.mail import MailConfig


class IntegrationTarget(BaseModel):
    """One target system: is it on, through which settings, how its work stands."""

    key: str = Field(description="directory, wifi, badge, stripe or email")
    name: str
    configured: bool
    # the demo's own target, started by `seatlease up` (an in-memory SCIM directory, the embedded `radius` database)
    demo: bool = False
    # where it is reached (never with a password or a token)
    endpoint: str | None = None
    # the environment variables that turn it on (the first ones are required)
    settings: list[str]
    # what turns it on, or what is missing or wrong, in a sentence
    note: str
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    pending: int = 0
    failed: int = 0
    # the figures behind pending and failed, by what they are (e.g. {"active": 56, "pending_grant": 2})
    counts: dict[str, int] = Field(default_factory=dict)


SMTP_SETTINGS = ["SEATLEASE_SMTP_HOST", "SEATLEASE_SMTP_FROM", "SEATLEASE_SMTP_PORT", "SEATLEASE_SMTP_SECURITY"]

_OUTBOX = """
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'sent') AS sent,
       count(*) FILTER (WHERE status = 'pending' AND attempts > 0) AS retrying,
       max(sent_at) AS last_sent
FROM email_outbox
"""

# the latest refusal: a failed message's, or a pending one's that is waiting for its retry (the one
# retried last has the latest next attempt among those that failed the same number of times)
_LAST_ERROR = """
SELECT last_error, next_attempt_at FROM email_outbox
WHERE last_error IS NOT NULL AND status <> 'sent'
ORDER BY attempts DESC, next_attempt_at DESC LIMIT 1
"""


async def email_target(session: AsyncSession, mail: MailConfig) -> IntegrationTarget:
    """The SMTP outbox: queued, sent, failed; configured when a host and a From address are set."""
    row = (await session.execute(text(_OUTBOX))).one()
    err = (await session.execute(text(_LAST_ERROR))).first()
    configured = bool(mail.host and mail.from_addr)
    if configured:
        note = f"Emails go out through {mail.host} ({mail.security})."
    elif mail.host:
        note = "SEATLEASE_SMTP_FROM is missing: nothing is sent until it is set; emails stay queued."
    else:
        note = "Off: set SEATLEASE_SMTP_HOST and SEATLEASE_SMTP_FROM to send email; until then emails stay queued."
    return IntegrationTarget(
        key="email",
        name="Email (SMTP)",
        configured=configured,
        endpoint=f"{mail.host}:{mail.port or {'tls': 465, 'none': 25}.get(mail.security, 587)}" if mail.host else None,
        settings=SMTP_SETTINGS,
        note=note,
        last_success_at=row.last_sent,
        last_error=err.last_error if err else None,
        last_error_at=None,
        pending=int(row.pending),
        failed=int(row.failed),
        counts={"sent": int(row.sent), "queued": int(row.pending), "retrying": int(row.retrying), "failed": int(row.failed)},
    )
