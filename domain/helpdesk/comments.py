"""Comments and attachments on a ticket.

An internal note or attachment is staff's only: never shown to the client, never sent to it (its own
audit action, which is no webhook event; a history row that is not public). A client's comment on a
ticket waiting on it is its answer: the ticket goes back to in progress (and the SLA clock runs again).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from domain.errors import DomainError, Forbidden, InvalidState, NotFound, ValidationFailed
from domain.helpdesk import sla
from domain.helpdesk.access import get_ticket, is_ticket_staff, require_actor, sees_internal
from domain.helpdesk.config import TicketConfig
from domain.helpdesk.history import log_change
from domain.helpdesk.schemas import Requester
from domain.models.ticket import Ticket, TicketAttachment, TicketComment
from domain.rules import ticket_flow as flow


class TooLarge(DomainError):
    status = 413
    title = "Payload too large"
    type_suffix = "too-large"


class UnsupportedType(DomainError):
    status = 415
    title = "Unsupported media type"
    type_suffix = "unsupported-media-type"


async def _open_for_change(session: AsyncSession, who: Requester, ticket_id: uuid.UUID, internal: bool) -> Ticket:
    require_actor(who)
    if internal and not is_ticket_staff(who):
        raise Forbidden("internal notes and attachments are the facility's", field="internal")
    ticket = await get_ticket(session, who, ticket_id, for_update=True)
    if not flow.accepts_comments(ticket.status):
        raise InvalidState("the ticket is closed: raise a new one", field="status")
    return ticket


async def _after_public_input(session: AsyncSession, who: Requester, ticket: Ticket, now: datetime) -> None:
    """A staff answer the client sees is the response; a client's answer on a ticket waiting on it moves it on."""
    if is_ticket_staff(who):
        if ticket.responded_at is None:
            ticket.responded_at = now
        return
    moved = flow.client_answer_moves(ticket.status)
    if moved is not None:
        old, ticket.status = ticket.status, moved
        await log_change(
            session, who, ticket, kind="status", action="ticket.status", now=now, public=True,
            from_status=old, to_status=moved, data={"answered": True},
        )  # fmt: skip
        await sla.on_change(session, ticket, old, now)


async def add_comment(
    session: AsyncSession, who: Requester, ticket_id: uuid.UUID, body: str, *, internal: bool = False, now: datetime | None = None
) -> TicketComment:
    now = now or datetime.now(UTC)
    ticket = await _open_for_change(session, who, ticket_id, internal)  # another tenant's: 404 before anything
    body = body.strip()
    if not body:
        raise ValidationFailed("the comment is empty", field="body")
    comment = TicketComment(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        author_id=who.subject,
        author=who.label,
        internal=internal,
        body=body,
        created_at=now,
    )
    session.add(comment)
    await session.flush()
    data = {"comment_id": str(comment.id), "body": body}
    if internal:
        await log_change(session, who, ticket, kind="note", action="ticket.note", now=now, public=False, data=data)
        return comment
    if is_ticket_staff(who) and ticket.responded_at is None:
        ticket.responded_at = now
    await log_change(session, who, ticket, kind="comment", action="ticket.comment", now=now, public=True, data=data)
    await _after_public_input(session, who, ticket, now)
    return comment


# --- attachments ---
_SAFE = re.compile(r"[^\w.\-() ]+")
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}


def safe_filename(name: str) -> str:
    """The file's own name only (no folder, no control characters, nothing a shell or a header would read
    as syntax), at most 200 characters and never hidden; "attachment" when nothing is left."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _SAFE.sub("_", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else name[:200]
    return name or "attachment"


def check_content(content_type: str, data: bytes, config: TicketConfig) -> str:
    """The declared type, if it is allowed and the bytes are of that type (never trust a browser's word)."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in config.attachment_types:
        raise UnsupportedType(
            f"{ctype or 'this type'} is not accepted; accepted: {', '.join(config.attachment_types)}", field="file"
        )
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    if len(data) > config.attachment_max_bytes:
        raise TooLarge(f"the file is larger than {config.attachment_max_bytes} bytes", field="file")
    magics = _MAGIC.get(ctype)
    if magics is not None and not data.startswith(magics):
        raise ValidationFailed(f"the file is not {ctype}", field="file")
    if ctype == "image/webp" and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise ValidationFailed("the file is not image/webp", field="file")
    if ctype.startswith("text/"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(f"{ctype} must be UTF-8 text", field="file") from exc
        if "\x00" in text:
            raise ValidationFailed(f"the file is not {ctype}", field="file")
    return ctype


def _store(folder: Path, digest: str, data: bytes) -> str:
    """Write the bytes once under their SHA-256 (the same file twice is one file); returns the stored name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        tmp = folder / f".{digest}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return digest


async def add_attachment(
    session: AsyncSession,
    who: Requester,
    ticket_id: uuid.UUID,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    config: TicketConfig,
    internal: bool = False,
    now: datetime | None = None,
) -> TicketAttachment:
    now = now or datetime.now(UTC)
    ticket = await _open_for_change(session, who, ticket_id, internal)  # another tenant's: 404 before anything
    ctype = check_content(content_type, data, config)
    digest = hashlib.sha256(data).hexdigest()
    in_folder = config.attachment_dir is not None
    att = TicketAttachment(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        filename=safe_filename(filename),
        content_type=ctype,
        size_bytes=len(data),
        sha256=digest,
        content=None if in_folder else data,
        storage_path=_store(config.attachment_dir, digest, data) if config.attachment_dir is not None else None,
        internal=internal,
        uploaded_by_id=who.subject,
        uploaded_by=who.label,
        created_at=now,
    )
    session.add(att)
    await session.flush()
    info = {"attachment_id": str(att.id), "filename": att.filename, "content_type": ctype, "size_bytes": len(data)}
    if internal:
        await log_change(
            session, who, ticket, kind="attachment", action="ticket.attach_internal", now=now, public=False, data=info
        )
        return att
    await log_change(session, who, ticket, kind="attachment", action="ticket.attach", now=now, public=True, data=info)
    await _after_public_input(session, who, ticket, now)
    return att


async def read_attachment(
    session: AsyncSession, who: Requester, ticket_id: uuid.UUID, attachment_id: uuid.UUID, *, config: TicketConfig
) -> tuple[TicketAttachment, bytes]:
    """An attachment and its bytes; another tenant's, or an internal one asked for by a client, is 404."""
    ticket = await get_ticket(session, who, ticket_id)
    stmt = select(TicketAttachment).options(undefer(TicketAttachment.content))
    stmt = stmt.where(TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket.id)
    if not sees_internal(who):
        stmt = stmt.where(TicketAttachment.internal.is_(False))
    att = await session.scalar(stmt)
    if att is None:
        raise NotFound("attachment not found")
    if att.content is not None:
        return att, att.content
    name = att.storage_path or ""
    if config.attachment_dir is None or not re.fullmatch(r"[0-9a-f]{64}", name):
        raise NotFound("the attachment's file is not available here (SEATLEASE_TICKET_ATTACHMENT_DIR)")
    try:
        data = (config.attachment_dir / name).read_bytes()
    except FileNotFoundError as exc:
        raise NotFound("the attachment's file is missing from the attachment folder") from exc
    return att, data
