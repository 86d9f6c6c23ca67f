"""The reconciler: converges what the target systems hold to the desired credentials.

Work is driven by the credential rows: a row is due when `next_attempt_at <= now()`. Workers
claim due rows in batches with `FOR UPDATE SKIP LOCKED` and keep them locked while they call the
targets, so two workers never apply the same row; every call is idempotent (our credential id
travels as the target's external id), so a crash between the call and the commit only repeats a
no-op. A claim is the claiming transaction: it ends with the worker's connection (a killed worker
releases its rows at once) or, for a worker that stops answering, after `claim_expiry_seconds`
without a word (PostgreSQL's idle_in_transaction_session_timeout); a working worker renews it.

Within a worker, several claimed batches share one bound on the target calls in flight, so the
calls go on while a finished batch is written back (one flush per batch) and the next is claimed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import Credential
from domain.services.audit import SystemActor, record, record_many
from provisioning import deprovisions
from provisioning.claims import Claimed, Outcome, backoff_seconds, claim, settle, write_back
from provisioning.config import ProvisioningConfig
from provisioning.desired import derive, summary, try_lock
from provisioning.providers.base import Provider, ProviderError
from provisioning.secrets import new_secret, seal, unseal

logger = logging.getLogger("seatlease.provisioning")
ACTOR = SystemActor("provisioning")
SWEEP_LOCK = "seatlease:provisioning:sweep:"


__all__ = ["Reconciler", "backoff_seconds"]


class Reconciler:
    def __init__(
        self, maker: async_sessionmaker[AsyncSession], config: ProvisioningConfig, providers: dict[str, Provider]
    ) -> None:
        self.maker = maker
        self.config = config
        self.providers = providers
        self._last_sweep: float | None = None  # the first pass of a worker sweeps

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction of the reconciler: a statement or a lock wait that takes too long fails it
        (and so the pass, which the loop retries) instead of hanging the worker."""
        async with self.maker() as session, session.begin():
            await session.execute(
                text("SELECT set_config('statement_timeout', :s, true), set_config('lock_timeout', :l, true)"),
                {
                    "s": str(max(1, int(self.config.statement_timeout_seconds * 1000))),
                    "l": str(max(1, int(self.config.lock_timeout_seconds * 1000))),
                },
            )
            yield session

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A section one worker at a time enters, across processes (a PostgreSQL advisory lock)."""
        async with self.transaction() as session:
            # waits its turn for as long as a statement may take (not the short lock timeout)
            await session.execute(text("SELECT set_config('lock_timeout', '0', true)"))
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
            yield

    async def derive(self) -> dict[str, Any]:
        async with self.transaction() as session:
            # the derivation runs the same statements once per site: plan each once (a generic plan
            # of the prepared statement) instead of once per site; planning the stale-credential
            # check took longer than running it, seconds on a few hundred sites before any revocation
            await session.execute(text("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"))
            return summary(await derive(session, self.config))

    async def run_once(self, *, sweep: bool | None = None, budget_seconds: float = 30.0) -> dict[str, Any]:
        """One pass: derive, work off what is due (within a time budget), sweep when due.

        The revocations already due are worked off while the derivation runs (a worker woken by
        another's derivation would otherwise first repeat it, with nothing to change, for seconds on
        a large site list); the derivation never waits for them, as it locks only desired rows.
        Then everything due, including what the derivation made due."""
        started = time.monotonic()
        deriving = asyncio.create_task(self.derive())
        try:
            processed = await self.drain(budget_seconds=budget_seconds, revocations_only=True)
        finally:
            out: dict[str, Any] = {"derive": await deriving}
        left = budget_seconds - (time.monotonic() - started)
        out["processed"] = processed + (await self.drain(budget_seconds=left) if left > 0 else 0)
        due = self._last_sweep is None or time.monotonic() - self._last_sweep >= self.config.sweep_interval_seconds
        if sweep or (sweep is None and due):
            self._last_sweep = time.monotonic()
            out["sweep"] = await self.sweep()
        return out

    async def seconds_until_due(self) -> float | None:
        async with self.transaction() as session:
            value = await session.scalar(
                text(
                    "SELECT EXTRACT(EPOCH FROM min(next_attempt_at) - now()) FROM credentials "
                    "WHERE next_attempt_at IS NOT NULL AND kind = ANY(CAST(:kinds AS text[]))"
                ),
                {"kinds": list(self.providers)},
            )
        return None if value is None else max(0.0, float(value))

    async def drain(self, *, budget_seconds: float = 30.0, revocations_only: bool = False) -> int:
        """Work off what is due (only what is no longer desired, with `revocations_only`):
        `parallel_batches + 1` lanes each claim and work their own batch, all under one bound of
        `in_flight` target calls (see ProvisioningConfig)."""
        deadline = time.monotonic() + budget_seconds
        calls = asyncio.Semaphore(self.config.in_flight)

        async def lane() -> int:
            done = 0
            while time.monotonic() < deadline:
                n = await self.process_batch(calls, revocations_only=revocations_only)
                done += n
                if n == 0:
                    break
            return done

        return sum(await asyncio.gather(*(lane() for _ in range(max(1, self.config.parallel_batches) + 1))))

    def _kinds(self) -> list[str]:
        return [k for k in self.providers if k in self.config.enabled_kinds] or list(self.providers)

    @asynccontextmanager
    async def _renewing(self, session: AsyncSession) -> AsyncIterator[None]:
        """Keep the claim of this transaction alive while its target calls run (a statement every
        third of the expiry resets PostgreSQL's idle timer). Stopped, never cancelled, before the
        session is used again: a query cancelled half-way would leave its connection unusable."""
        stop = asyncio.Event()

        async def renew() -> None:
            every = max(0.05, self.config.claim_expiry_seconds / 3)
            while True:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=every)
                    return
                except TimeoutError:
                    await session.execute(text("SELECT 1"))

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            stop.set()
            await task

    async def process_batch(self, calls: asyncio.Semaphore | None = None, *, revocations_only: bool = False) -> int:
        """Claim a batch, make its calls (at most `calls` at once across the worker's batches),
        write the batch back with its audit events, commit: the claim ends with the transaction."""
        calls = calls or asyncio.Semaphore(self.config.in_flight)
        async with self.transaction() as session:
            expiry = self.config.claim_expiry_seconds
            claimed = await claim(session, self._kinds(), self.config.batch_size, expiry, revocations_only=revocations_only)
            if not claimed:
                return 0

            async def work(row: Claimed) -> Outcome:
                async with calls:
                    return await self._apply(row)

            async with self._renewing(session):
                outcomes = await asyncio.gather(*(work(r) for r in claimed))
            for row, outcome in zip(claimed, outcomes, strict=True):
                settle(row, outcome, self.config)
            await record_many(session, ACTOR, await write_back(session, claimed))
            # --- client SCIM (issue 14): an agent its identity provider deprovisioned is done when its last credential is cut
            cut = [r.member_id for r, o in zip(claimed, outcomes, strict=True) if o.ok and o.op == "disable"]
            await deprovisions.complete(session, cut)
        return len(claimed)

    async def _apply(self, row: Claimed) -> Outcome:
        provider = self.providers[row.kind]
        op = "grant" if row.desired else "disable" if row.disabled_at is None else "delete"
        try:
            if op == "grant":
                if provider.needs_secret and (row.first_granted_at is None or row.external_id is None):
                    row.spec.secret = self._secret_for(row)
                result = await provider.grant(row.spec)
                return Outcome(True, op, result=result, at=datetime.now(UTC))
            await provider.revoke(row.spec, delete=op == "delete")
            return Outcome(True, op, at=datetime.now(UTC))
        except ProviderError as exc:
            return Outcome(False, op, error=str(exc)[:500])
        except Exception as exc:  # a bug or an unexpected answer: keep the worker alive, retry later
            logger.warning("provisioning %s of credential %s raised %s", op, row.id, type(exc).__name__)
            return Outcome(False, op, error=f"unexpected {type(exc).__name__}")

    def _secret_for(self, row: Claimed) -> str | None:
        """The credential's sealed secret; a new one when the target must (re)create the account
        and the old one was already revealed and destroyed."""
        if row.secret_ciphertext is not None:
            secret = unseal(self.config.secret_key, row.secret_ciphertext)
            if secret is not None:
                return secret
        if row.external_ref and row.external_ref.get("hash"):
            return None
        secret = new_secret()
        row.set(secret_ciphertext=seal(self.config.secret_key, secret), secret_revealed_at=None)
        return secret

    async def sweep(self) -> dict[str, Any]:
        """Compare what each target holds with our rows: re-grant what drifted, disable what is
        active without a lease behind it (an incident, recorded in the audit log)."""
        report: dict[str, Any] = {}
        for kind, provider in self.providers.items():
            async with self.transaction() as session:
                if not await try_lock(session, SWEEP_LOCK + kind):
                    continue
                # our rows first, then the target: what we believe is never newer than what we see
                creds = list(
                    (
                        await session.execute(
                            select(
                                Credential.id,
                                Credential.login,
                                Credential.external_id,
                                Credential.desired,
                                Credential.state,
                                Credential.disabled_at,
                                Credential.lease_id,
                                Credential.client_id,
                            ).where(Credential.kind == kind)
                        )
                    ).all()
                )
                try:
                    actual = await provider.read_actual()
                except ProviderError as exc:
                    report[kind] = {"error": str(exc)}
                    continue
                if actual is None:
                    continue
                report[kind] = await self._compare(session, kind, provider, creds, actual)
        return report

    async def _compare(
        self, session: AsyncSession, kind: str, provider: Provider, creds: list[Any], actual: list[Any]
    ) -> dict[str, int]:
        by_id = {c.id: c for c in creds}
        by_ext = {c.external_id: c for c in creds if c.external_id}
        by_login = {c.login: c for c in creds}
        seen: set[uuid.UUID] = set()
        regrant: set[uuid.UUID] = set()  # desired and active here, but not (active) there
        hurry: set[uuid.UUID] = set()  # being revoked: make sure the disable is due now
        redo_disable: set[uuid.UUID] = set()  # we disabled it, it is active again and we could not fix it
        incidents = 0
        for entry in actual:
            cred = (
                (by_id.get(entry.credential_id) if entry.credential_id else None)
                or by_ext.get(entry.external_id)
                or by_login.get(entry.login)
            )
            if cred is not None:
                seen.add(cred.id)
            if cred is not None and cred.desired:
                if cred.state == "active" and not entry.active:
                    regrant.add(cred.id)
                continue
            if not entry.active:
                continue
            if cred is not None and cred.disabled_at is None:
                hurry.add(cred.id)
                continue
            incidents += 1
            try:
                await provider.disable_external(entry.external_id)
                fixed = True
            except ProviderError:
                fixed = False
                if cred is not None:
                    redo_disable.add(cred.id)
            await record(
                session,
                ACTOR,
                "provisioning.incident",
                "credential",
                cred.id if cred is not None else f"{kind}:{entry.external_id}"[:64],
                after={
                    "kind": kind,
                    "external_id": entry.external_id,
                    "login": entry.login,
                    "reason": "active in the target system without a lease behind it",
                    "lease_id": cred.lease_id if cred is not None else None,
                    "disabled": fixed,
                },
                client_id=cred.client_id if cred is not None else None,
            )
            logger.warning(
                "provisioning incident: %s account %s active without a lease; disabled=%s", kind, entry.external_id, fixed
            )
        missing = [c.id for c in creds if c.desired and c.state == "active" and c.id not in seen]
        regrant.update(missing)
        # each update re-checks the row as it is now: a worker may have moved it on meanwhile
        # (e.g. disabled it, scheduling the delete after the grace period, which must stand)
        for ids, where, extra in (
            (regrant, "desired AND state = 'active'", ""),
            (hurry, "NOT desired AND disabled_at IS NULL", ""),
            (redo_disable, "NOT desired AND disabled_at IS NOT NULL", ", disabled_at = NULL, state = 'revoking'"),
        ):
            if ids:
                await session.execute(
                    text(
                        f"UPDATE credentials SET next_attempt_at = now(){extra} WHERE id = ANY(:ids) AND {where} "
                        "AND (next_attempt_at IS NULL OR next_attempt_at > now())"
                    ),
                    {"ids": list(ids)},
                )
        requeue = regrant | hurry | redo_disable
        return {"listed": len(actual), "incidents": incidents, "requeued": len(requeue), "missing": len(missing)}
