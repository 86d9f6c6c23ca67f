"""What a client sees of its agents' credentials (issue 14, the client portal): each credential's
kind, login and state, whether its secret can still be revealed (once) or was revealed already --
never the secret, nor the target's own error text (an operator's matter: the facility retries)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Credential, Lease, Member, Seat, Site


@dataclass(frozen=True)
class ClientCredential:
    id: uuid.UUID
    kind: str
    login: str
    state: str
    member_id: uuid.UUID
    member_name: str
    seat_label: str | None
    site_code: str
    lease_id: uuid.UUID
    revealable: bool  # granted, with a secret not yet revealed
    revealed_at: datetime | None
    valid_until: datetime | None
    next_attempt_at: datetime | None


def _stmt() -> Select[Credential, str, str, str]:
    return (
        select(Credential, Member.name, Seat.label, Site.code)
        .join(Member, Member.id == Credential.member_id)
        .join(Lease, Lease.id == Credential.lease_id)
        .join(Site, Site.id == Lease.site_id)
        .outerjoin(Seat, Seat.id == Credential.seat_id)
    )


def _line(c: Credential, member_name: str, seat_label: str | None, site_code: str) -> ClientCredential:
    return ClientCredential(
        id=c.id,
        kind=c.kind,
        login=c.login,
        state=c.state,
        member_id=c.member_id,
        member_name=member_name,
        seat_label=seat_label,
        site_code=site_code,
        lease_id=c.lease_id,
        revealable=c.kind != "badge" and c.secret_ciphertext is not None and c.first_granted_at is not None,
        revealed_at=c.secret_revealed_at,
        valid_until=c.valid_until,
        next_attempt_at=c.next_attempt_at if c.state == "failed" else None,
    )


async def lease_credentials(session: AsyncSession, client_id: uuid.UUID, lease_id: uuid.UUID) -> list[ClientCredential]:
    """A lease's credentials, by agent then kind (the client's own lease only)."""
    stmt = (
        _stmt().where(Credential.lease_id == lease_id, Credential.client_id == client_id).order_by(Member.name, Credential.kind)
    )
    return [_line(*r) for r in (await session.execute(stmt)).tuples()]


async def member_credentials(session: AsyncSession, client_id: uuid.UUID, member_id: uuid.UUID) -> list[ClientCredential]:
    """An agent's credentials on every lease, newest first (the client's own agent only)."""
    stmt = (
        _stmt()
        .where(Credential.member_id == member_id, Credential.client_id == client_id)
        .order_by(Credential.created_at.desc(), Credential.kind)
    )
    return [_line(*r) for r in (await session.execute(stmt)).tuples()]


async def credential_member(session: AsyncSession, credential_id: uuid.UUID) -> uuid.UUID | None:
    """Whose credential it is (the reveal's answer is that agent's page)."""
    return await session.scalar(select(Credential.member_id).where(Credential.id == credential_id))
