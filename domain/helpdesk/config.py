"""The ticket use-cases' settings (composed by service/settings.py from SEATLEASE_TICKET_*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.rules.ticket_flow import DEFAULT_REOPEN_DAYS

DEFAULT_ATTACHMENT_TYPES: tuple[str, ...] = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
)


@dataclass(frozen=True)
class TicketConfig:
    # a client may reopen its resolved ticket this many days; after them the worker closes it
    reopen_days: int = DEFAULT_REOPEN_DAYS
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = field(default=DEFAULT_ATTACHMENT_TYPES)
    # None: attachments are kept in the database; a folder: there, each file named by its SHA-256
    attachment_dir: Path | None = None
