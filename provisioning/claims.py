"""A claimed batch of credentials: claimed in one statement, settled in memory, written back in one.

The claim locks due rows with `FOR UPDATE SKIP LOCKED` and reads, in the same round trip, what the
providers need to know of each (member, site, shift). While the claim stands nobody else can change
those rows (derive, a retry, a sweep wait for it), so the write-back sets every column the
reconciler owns from what was read and what the target answered: one executemany for the rows and
one for their audit events, without the ORM's unit of work (the worker's CPU per credential is
what bounds it against a fast target).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Credential, Lease, Member, Site
from domain.services.audit import AuditEntry
from provisioning.config import ProvisioningConfig
from provisioning.providers.base import CredentialSpec, GrantResult

# what the reconciler writes back for a claimed row (and nothing else)
WRITTEN = (
    "state",
    "attempts",
    "last_error",
    "next_attempt_at",
    "updated_at",
    "external_id",
    "external_ref",
    "first_granted_at",
    "disabled_at",
    "revoked_at",
    "secret_ciphertext",
    "secret_revealed_at",
)
READ = ("id", "kind", "client_id", "lease_id", "member_id", "login", "desired", "access_groups", "valid_until", *WRITTEN)

_table = cast(Table, Credential.__table__)
WRITE_BACK = (
    update(_table)
    .where(_table.c.id == bindparam("_id"))
    .values({name: bindparam(f"_{name}", type_=_table.c[name].type) for name in WRITTEN})
)


@dataclass
class Outcome:
    ok: bool
    op: str
    result: GrantResult | None = None
    error: str | None = None
    at: datetime | None = None


@dataclass
class Claimed:
    """A claimed credential: its columns as read under the claim, changed in memory as it settles."""

    values: dict[str, Any]
    spec: CredentialSpec
    audit: list[AuditEntry] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, **changes: Any) -> None:
        self.values.update(changes)


def backoff_seconds(config: ProvisioningConfig, attempts: int) -> float:
    """Exponential back-off with jitter, capped; beyond the cap of attempts, the slow retry."""
    if attempts >= config.max_attempts:
        return config.failed_retry_seconds
    delay = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


async def claim(
    session: AsyncSession, kinds: list[str], limit: int, expiry_seconds: float, *, revocations_only: bool = False
) -> list[Claimed]:
    """Lock up to `limit` due rows (skipping rows another worker holds) with what the providers need
    to know of each, in one round trip; the claim lasts as long as this transaction, which
    PostgreSQL ends after `expiry_seconds` without a word from its worker."""
    await session.execute(
        text("SELECT set_config('idle_in_transaction_session_timeout', :t, true)"),
        {"t": str(max(1, int(expiry_seconds * 1000)))},
    )
    due = [Credential.next_attempt_at <= func.now(), Credential.kind.in_(kinds)]
    if revocations_only:
        due.append(Credential.desired.is_(False))
    rows = await session.execute(
        select(*(_table.c[name] for name in READ), Member.name, Member.email, Member.employee_id, Site.code, Lease.shift_code)
        .join(Member, Member.id == Credential.member_id)
        .join(Site, Site.id == Credential.site_id)
        .outerjoin(Lease, Lease.id == Credential.lease_id)
        .where(*due)
        .order_by(Credential.next_attempt_at)
        .limit(limit)
        .with_for_update(of=Credential, skip_locked=True)
    )
    out = []
    for r in rows.tuples():
        values = dict(zip(READ, r[: len(READ)], strict=True))
        name, email, employee_id, site_code, shift_code = r[len(READ) :]
        values["external_ref"] = dict(values["external_ref"] or {})
        spec = CredentialSpec(
            id=values["id"],
            kind=values["kind"],
            login=values["login"],
            member_name=name,
            member_email=email,
            employee_id=employee_id,
            client_id=values["client_id"],
            site_code=site_code,
            shift_code=shift_code or "",
            access_groups=list(values["access_groups"] or []),
            valid_until=values["valid_until"],
            external_id=values["external_id"],
            external_ref=dict(values["external_ref"]),
        )
        out.append(Claimed(values, spec))
    return out


async def write_back(session: AsyncSession, claimed: list[Claimed]) -> list[AuditEntry]:
    """The settled rows in one executemany; returns their audit events, for the caller to record."""
    if claimed:
        await session.execute(WRITE_BACK, [{"_id": c.id, **{f"_{n}": c.values[n] for n in WRITTEN}} for c in claimed])
    return [e for c in claimed for e in c.audit]


def settle(row: Claimed, outcome: Outcome, config: ProvisioningConfig) -> None:
    """What the target's answer means for the row: its new state, when it is due again, and the
    audit event it calls for (kept on the row until the batch is written back)."""
    now = outcome.at or datetime.now(UTC)
    row.set(updated_at=now)
    if not outcome.ok:
        attempts = row.attempts + 1
        row.set(attempts=attempts, last_error=outcome.error)
        if attempts >= config.max_attempts and row.state != "failed":
            row.set(state="failed")
            row.audit.append(
                _event(
                    row, "credential.failed", {"kind": row.kind, "op": outcome.op, "error": outcome.error, "attempts": attempts}
                )
            )
        row.set(next_attempt_at=now + timedelta(seconds=backoff_seconds(config, attempts)))
        return
    row.set(attempts=0, last_error=None)
    if outcome.op == "grant":
        assert outcome.result is not None
        first = row.first_granted_at is None
        was = row.state
        next_at = None
        if row.valid_until is not None:
            renew_at = row.valid_until - timedelta(days=config.badge_renew_before_days)
            next_at = max(renew_at, now + timedelta(hours=1))
        row.set(
            state="active",
            external_id=outcome.result.external_id,
            external_ref=outcome.result.external_ref,
            first_granted_at=row.first_granted_at or now,
            next_attempt_at=next_at,
        )
        if first or was != "active":
            row.audit.append(
                _event(
                    row,
                    "credential.granted",
                    {
                        "kind": row.kind,
                        "login": row.login,
                        "lease_id": row.lease_id,
                        "member_id": row.member_id,
                        "external_id": row.external_id,
                    },
                )
            )
    elif outcome.op == "disable":
        row.set(state="revoking", disabled_at=now, next_attempt_at=now + timedelta(seconds=config.delete_grace_seconds))
        row.audit.append(_event(row, "credential.disabled", {"kind": row.kind, "login": row.login, "lease_id": row.lease_id}))
    else:
        # gone from the target: a later grant creates the account afresh, with a new secret
        row.set(state="revoked", revoked_at=now, next_attempt_at=None, secret_ciphertext=None, external_id=None, external_ref={})
        row.audit.append(_event(row, "credential.deleted", {"kind": row.kind, "login": row.login, "lease_id": row.lease_id}))


def _event(row: Claimed, action: str, after: dict[str, Any]) -> AuditEntry:
    cid: uuid.UUID = row.client_id
    return AuditEntry(action, "credential", row.id, after=after, client_id=cid)
