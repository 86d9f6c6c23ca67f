"""Use-cases on credentials and the mass-revocation guard: the one-time reveal, a retry, a guard's
confirmation, and the read-models the API and the admin show. Each validates, writes, records its
audit event and wakes the reconciler itself; the edges only parse and render."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import Gone, InvalidState, NotFound
from domain.models import Client, Credential, Lease, Member, RevocationGuard, Site
from domain.services import devices
from domain.services.audit import Actor, record
from domain.services.lookup import get_or_404
from domain.services.paging import keyset_page
from provisioning.schemas import (
    CredentialOut,
    CredentialPage,
    GuardOut,
    LeaseCredentials,
    LeaseDeviceOut,
    RevealedSecret,
    ShortageOut,
)
from provisioning.secrets import unseal


class TenantActor(Actor, Protocol):
    def require_client(self, client_id: uuid.UUID, what: str = ...) -> None:
        """NotFound unless the actor may see this client's objects."""


async def _locked(session: AsyncSession, credential_id: uuid.UUID) -> Credential:
    row = await session.scalar(select(Credential).where(Credential.id == credential_id).with_for_update())
    if row is None:
        raise NotFound("credential not found")
    return row


async def reveal_secret(session: AsyncSession, actor: TenantActor, credential_id: uuid.UUID, secret_key: str) -> RevealedSecret:
    """The secret, once: it is destroyed as it is read, and asking again is 410 Gone.

    Another tenant's credential does not exist (404); a badge has no secret and a credential not yet
    granted has none to give (409). The audit event names the credential, never the secret, and
    nothing here logs it."""
    row = await _locked(session, credential_id)
    actor.require_client(row.client_id, "credential")
    if row.kind == "badge":
        raise InvalidState("a badge has no secret to reveal")
    if row.secret_ciphertext is None:
        if row.secret_revealed_at is not None:
            raise Gone("the secret was already revealed and is destroyed")
        raise Gone("the credential no longer has a secret")
    if row.first_granted_at is None:
        raise InvalidState("the credential is not provisioned yet; reveal it once it is active")
    secret = unseal(secret_key, row.secret_ciphertext)
    row.secret_ciphertext = None
    row.secret_revealed_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "credential.reveal",
        "credential",
        row.id,
        after={"kind": row.kind, "login": row.login},
        client_id=row.client_id,
    )
    if secret is None:
        raise Gone("the secret cannot be read with the current key and was destroyed")
    return RevealedSecret(credential_id=row.id, kind=row.kind, login=row.login, secret=secret)


async def retry_credential(session: AsyncSession, actor: Actor, credential_id: uuid.UUID) -> Credential:
    """Try a credential again now, with a fresh back-off.

    A failed credential goes back to the work it failed at (granting or revoking); one in any other
    state but `revoked` keeps its state and is only made due now. A revoked one has nothing left to
    do (409), from the API and the admin alike."""
    row = await _locked(session, credential_id)
    if row.state == "revoked":
        raise InvalidState("a revoked credential has nothing left to do")
    before = {"state": row.state, "attempts": row.attempts, "next_attempt_at": row.next_attempt_at}
    if row.state == "failed":
        row.state = "pending" if row.desired else "revoking"
    row.attempts = 0
    row.next_attempt_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "credential.retry",
        "credential",
        row.id,
        before=before,
        after={"state": row.state, "attempts": 0},
        client_id=row.client_id,
    )
    await events.leases_changed(session)
    return row


async def confirm_guard(session: AsyncSession, actor: Actor, guard_id: uuid.UUID) -> RevocationGuard:
    """A person confirms that the large revocation the reconciler held back is intended.

    Only a pending guard can be confirmed (409 otherwise); the reconciler is woken to go ahead."""
    guard = await session.scalar(select(RevocationGuard).where(RevocationGuard.id == guard_id).with_for_update())
    if guard is None:
        raise NotFound("guard not found")
    if guard.status != "pending":
        raise InvalidState(f"the guard is {guard.status}")
    guard.status = "confirmed"
    guard.confirmed_by = actor.subject
    guard.confirmed_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "provisioning.mass_revoke_confirmed",
        "revocation_guard",
        guard.id,
        after={"would_revoke": guard.would_revoke, "total_active": guard.total_active, "by_kind": guard.by_kind},
    )
    await events.leases_changed(session)
    return guard


async def reject_guard(session: AsyncSession, actor: Actor, guard_id: uuid.UUID, reason: str | None = None) -> RevocationGuard:
    """A person says the large revocation the reconciler held back is NOT intended (rows lost by
    mistake, say): the held credentials stay as they are, and the reconciler does not ask again about
    the same drift (a larger one is asked about anew; drift that goes away ends the rejection).

    Only a pending guard can be rejected (409 otherwise): under a double submit one request rejects it
    and records the one audit event, the other gets 409 (the row is locked while it is decided)."""
    guard = await session.scalar(select(RevocationGuard).where(RevocationGuard.id == guard_id).with_for_update())
    if guard is None:
        raise NotFound("guard not found")
    if guard.status != "pending":
        raise InvalidState(f"the guard is {guard.status}")
    guard.status = "rejected"
    guard.rejected_by = actor.subject
    guard.rejected_at = datetime.now(UTC)
    guard.reason = (reason or "").strip()[:500] or None
    await session.flush()
    await record(
        session,
        actor,
        "provisioning.mass_revoke_rejected",
        "revocation_guard",
        guard.id,
        before={"status": "pending"},
        after={
            "status": "rejected",
            "would_revoke": guard.would_revoke,
            "total_active": guard.total_active,
            "by_kind": guard.by_kind,
            "reason": guard.reason,
        },
    )
    return guard


# ---- read-models ------------------------------------------------------------------------------


async def lease_credentials(session: AsyncSession, actor: TenantActor, lease_id: uuid.UUID) -> LeaseCredentials:
    """A lease's credentials, its devices and its seats still short of one: for its tenant or staff."""
    lease = await get_or_404(session, Lease, lease_id, "lease")
    actor.require_client(lease.client_id, "lease")
    rows = (
        await session.scalars(
            select(Credential).where(Credential.lease_id == lease.id).order_by(Credential.member_id, Credential.kind)
        )
    ).all()
    return LeaseCredentials(
        items=[CredentialOut.of(r) for r in rows],
        devices=[LeaseDeviceOut.model_validate(d) for d in await devices.lease_devices(session, lease.id)],
        device_shortages=[ShortageOut.model_validate(s) for s in await devices.open_shortages(session, lease.id)],
    )


async def list_credentials(
    session: AsyncSession,
    *,
    state: str | None = None,
    kind: str | None = None,
    lease_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> CredentialPage:
    stmt = select(Credential)
    if state:
        stmt = stmt.where(Credential.state == state)
    if kind:
        stmt = stmt.where(Credential.kind == kind)
    if lease_id:
        stmt = stmt.where(Credential.lease_id == lease_id)
    rows, nxt = await keyset_page(session, stmt, Credential.id, cursor, limit)
    return CredentialPage(items=[CredentialOut.of(r) for r in rows], next_cursor=nxt)


async def list_guards(session: AsyncSession, status: str | Sequence[str] | None = None) -> list[GuardOut]:
    """The latest hundred mass-revocation guards (in `status`, or any of those given), newest first."""
    stmt = select(RevocationGuard).order_by(RevocationGuard.created_at.desc()).limit(100)
    if isinstance(status, str):
        stmt = stmt.where(RevocationGuard.status == status)
    elif status:
        stmt = stmt.where(RevocationGuard.status.in_(list(status)))
    return [GuardOut.model_validate(g) for g in (await session.scalars(stmt)).all()]


class QueueRow(NamedTuple):
    """A credential in the provisioning queue, with whose it is and where."""

    credential: Credential
    member_name: str
    client_name: str
    site_code: str


class MemberCredential(NamedTuple):
    credential: Credential
    member_name: str


async def queue(session: AsyncSession, state: str | None = None, limit: int = 300) -> list[QueueRow]:
    """The provisioning queue: credentials (in `state`, when given), most recently changed first."""
    stmt = (
        select(Credential, Member.name, Client.legal_name, Site.code)
        .join(Member, Member.id == Credential.member_id)
        .join(Client, Client.id == Credential.client_id)
        .join(Site, Site.id == Credential.site_id)
    )
    if state:
        stmt = stmt.where(Credential.state == state)
    rows = await session.execute(stmt.order_by(Credential.updated_at.desc().nulls_last()).limit(limit))
    return [QueueRow(*r) for r in rows.tuples()]


async def lease_credentials_by_member(session: AsyncSession, lease_id: uuid.UUID) -> list[MemberCredential]:
    """A lease's credentials with their member's name, by member then kind."""
    rows = await session.execute(
        select(Credential, Member.name)
        .join(Member, Member.id == Credential.member_id)
        .where(Credential.lease_id == lease_id)
        .order_by(Member.name, Credential.kind)
    )
    return [MemberCredential(*r) for r in rows.tuples()]
