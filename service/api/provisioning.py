"""Provisioning: credential states, the one-time reveal, operations, the mass-revocation guard, /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, text

from domain.errors import Gone, InvalidState, NotFound
from domain.models import Credential, Device, DeviceShortage, RevocationGuard
from domain.services.audit import record
from domain.services.leases import get_lease, notify_leases_changed
from provisioning import liveness
from provisioning.kpis import kpis
from provisioning.secrets import unseal
from service.api.deps import Cursor, Limit, paginate
from service.auth import ClientWriter, MetricsReader, Principal, StaffOrFinance, StaffUser, require_roles
from service.db import SessionDep

router = APIRouter(tags=["provisioning"])

LeaseReader = Annotated[Principal, require_roles("admin", "facility_staff", "client_admin", "client_viewer")]
CredentialState = Literal["pending", "active", "revoking", "revoked", "failed"]
CredentialKind = Literal["directory", "badge", "wifi"]


class CredentialOut(BaseModel):
    """A credential's state; never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    lease_id: uuid.UUID
    member_id: uuid.UUID
    seat_id: uuid.UUID | None
    client_id: uuid.UUID
    login: str
    desired: bool
    state: str
    external_id: str | None
    access_groups: list[str]
    valid_until: datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    first_granted_at: datetime | None
    disabled_at: datetime | None
    revoked_at: datetime | None
    secret_revealed_at: datetime | None
    secret_available: bool = False

    @classmethod
    def of(cls, row: Credential) -> CredentialOut:
        out = cls.model_validate(row)
        out.secret_available = row.secret_ciphertext is not None
        return out


class ShortageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seat_id: uuid.UUID
    device_kind: str
    missing: int
    created_at: datetime


class LeaseDeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    serial: str
    kind: str
    seat_id: uuid.UUID | None
    status: str
    return_due_at: datetime | None


class LeaseCredentials(BaseModel):
    items: list[CredentialOut]
    next_cursor: str | None = None
    devices: list[LeaseDeviceOut]
    device_shortages: list[ShortageOut]


class CredentialPage(BaseModel):
    items: list[CredentialOut]
    next_cursor: str | None = None


class RevealedSecret(BaseModel):
    credential_id: uuid.UUID
    kind: str
    login: str
    secret: str


class GuardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    would_revoke: int
    total_active: int
    created_at: datetime
    confirmed_at: datetime | None


@router.get("/v1/leases/{lease_id}/credentials", response_model=LeaseCredentials)
async def lease_credentials(lease_id: uuid.UUID, user: LeaseReader, session: SessionDep) -> LeaseCredentials:
    lease = await get_lease(session, lease_id)
    user.require_client(lease.client_id, "lease")
    rows = (
        await session.scalars(
            select(Credential).where(Credential.lease_id == lease.id).order_by(Credential.member_id, Credential.kind)
        )
    ).all()
    devices = (await session.scalars(select(Device).where(Device.lease_id == lease.id).order_by(Device.serial))).all()
    shortages = (
        await session.scalars(
            select(DeviceShortage).where(DeviceShortage.lease_id == lease.id, DeviceShortage.resolved_at.is_(None))
        )
    ).all()
    return LeaseCredentials(
        items=[CredentialOut.of(r) for r in rows],
        devices=[LeaseDeviceOut.model_validate(d) for d in devices],
        device_shortages=[ShortageOut.model_validate(s) for s in shortages],
    )


@router.post("/v1/credentials/{credential_id}/reveal", response_model=RevealedSecret)
async def reveal(credential_id: uuid.UUID, user: ClientWriter, session: SessionDep, request: Request) -> JSONResponse:
    """The secret, once: afterwards it is destroyed and the answer is 410."""
    row = await session.scalar(select(Credential).where(Credential.id == credential_id).with_for_update())
    if row is None:
        raise NotFound("credential not found")
    user.require_client(row.client_id, "credential")
    if row.kind == "badge":
        raise InvalidState("a badge has no secret to reveal")
    if row.secret_ciphertext is None:
        if row.secret_revealed_at is not None:
            raise Gone("the secret was already revealed and is destroyed")
        raise Gone("the credential no longer has a secret")
    if row.first_granted_at is None:
        raise InvalidState("the credential is not provisioned yet; reveal it once it is active")
    secret = unseal(request.app.state.settings.secret_key, row.secret_ciphertext)
    row.secret_ciphertext = None
    row.secret_revealed_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        user,
        "credential.reveal",
        "credential",
        row.id,
        after={"kind": row.kind, "login": row.login},
        client_id=row.client_id,
    )
    if secret is None:
        raise Gone("the secret cannot be read with the current key and was destroyed")
    body = RevealedSecret(credential_id=row.id, kind=row.kind, login=row.login, secret=secret)
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/v1/provisioning/credentials", response_model=CredentialPage)
async def list_credentials(
    user: StaffUser,
    session: SessionDep,
    state: CredentialState | None = None,
    kind: CredentialKind | None = None,
    lease_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CredentialPage:
    stmt = select(Credential)
    if state:
        stmt = stmt.where(Credential.state == state)
    if kind:
        stmt = stmt.where(Credential.kind == kind)
    if lease_id:
        stmt = stmt.where(Credential.lease_id == lease_id)
    rows, nxt = await paginate(session, stmt, Credential.id, cursor, limit)
    return CredentialPage(items=[CredentialOut.of(r) for r in rows], next_cursor=nxt)


@router.post("/v1/provisioning/credentials/{credential_id}/retry", response_model=CredentialOut)
async def retry(credential_id: uuid.UUID, user: StaffUser, session: SessionDep) -> CredentialOut:
    """Try a credential again now, with a fresh back-off."""
    row = await session.scalar(select(Credential).where(Credential.id == credential_id).with_for_update())
    if row is None:
        raise NotFound("credential not found")
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
        user,
        "credential.retry",
        "credential",
        row.id,
        before=before,
        after={"state": row.state, "attempts": 0},
        client_id=row.client_id,
    )
    await notify_leases_changed(session)
    return CredentialOut.of(row)


@router.get("/v1/provisioning/guards", response_model=list[GuardOut])
async def list_guards(
    user: StaffUser,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(pending|confirmed|consumed|dismissed)$")] = None,
) -> list[GuardOut]:
    stmt = select(RevocationGuard).order_by(RevocationGuard.created_at.desc()).limit(100)
    if status:
        stmt = stmt.where(RevocationGuard.status == status)
    return [GuardOut.model_validate(g) for g in (await session.scalars(stmt)).all()]


@router.post("/v1/provisioning/guards/{guard_id}/confirm", response_model=GuardOut)
async def confirm_guard(guard_id: uuid.UUID, user: StaffUser, session: SessionDep) -> GuardOut:
    """A human confirms that the large revocation the reconciler held back is intended."""
    guard = await session.scalar(select(RevocationGuard).where(RevocationGuard.id == guard_id).with_for_update())
    if guard is None:
        raise NotFound("guard not found")
    if guard.status != "pending":
        raise InvalidState(f"the guard is {guard.status}")
    guard.status = "confirmed"
    guard.confirmed_by = user.subject
    guard.confirmed_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        user,
        "provisioning.mass_revoke_confirmed",
        "revocation_guard",
        guard.id,
        after={"would_revoke": guard.would_revoke, "total_active": guard.total_active},
    )
    await notify_leases_changed(session)
    return GuardOut.model_validate(guard)


@router.get("/v1/provisioning/kpis")
async def provisioning_kpis(user: StaffOrFinance, session: SessionDep) -> dict[str, Any]:
    return await kpis(session)


_registry = CollectorRegistry()
_lead = Gauge("seatlease_provisioning_lead_time_seconds", "Lease start to credential active", ["quantile"], registry=_registry)
_lag = Gauge("seatlease_revocation_lag_seconds", "Lease end to credential disabled", ["quantile"], registry=_registry)
_without = Gauge(
    "seatlease_credentials_active_without_lease", "Credentials still enabled with no lease (must be 0)", registry=_registry
)
_by_state = Gauge("seatlease_credentials", "Credentials by state", ["state"], registry=_registry)
_devices_out = Gauge("seatlease_devices_out_for_return", "Devices to come back from ended leases", registry=_registry)
_short = Gauge("seatlease_seats_short_of_devices", "Seat/device-kind pairs short of stock", registry=_registry)
_guards = Gauge("seatlease_mass_revocations_awaiting_confirmation", "Held mass revocations", registry=_registry)
_since_pass = Gauge(
    "seatlease_worker_seconds_since_last_pass",
    "Seconds since each worker's last completed pass (since its start before its first)",
    ["worker", "role"],
    registry=_registry,
)
_stale = Gauge(
    "seatlease_workers_stale", "Workers whose last completed pass is older than the stale threshold", registry=_registry
)
_sites_failing = Gauge("seatlease_sites_failing", "Sites the workers' last passes had to skip", ["pass_name"], registry=_registry)


class _WorkerCounters:
    """Passes and failed passes per worker, as counters: the workers count them in their liveness rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def collect(self) -> Iterator[Metric]:
        passes = CounterMetricFamily("seatlease_worker_passes", "Completed passes per worker", labels=["worker", "role"])
        failed = CounterMetricFamily("seatlease_worker_failed_passes", "Failed passes per worker", labels=["worker", "role"])
        for r in self.rows:
            passes.add_metric([r["id"], r["role"]], float(r["passes"]))
            failed.add_metric([r["id"], r["role"]], float(r["failed_passes"]))
        yield passes
        yield failed


_counters = _WorkerCounters()
_registry.register(_counters)  # type: ignore[arg-type]


@router.get("/metrics", include_in_schema=False)
async def metrics(_: MetricsReader, session: SessionDep, request: Request) -> Response:
    """Prometheus metrics: a staff token or the scrape token (SEATLEASE_METRICS_TOKEN)."""
    k = await kpis(session)
    for gauge, key in ((_lead, "provisioning_lead_time"), (_lag, "revocation_lag")):
        for q, field in (("0.5", "p50_seconds"), ("0.99", "p99_seconds"), ("1", "max_seconds")):
            gauge.labels(quantile=q).set(k[key][field] or 0.0)
    _without.set(k["credentials_active_without_lease"])
    _devices_out.set(k["devices_out_for_return"])
    _short.set(k["seats_short_of_devices"])
    _guards.set(k["mass_revocations_awaiting_confirmation"])
    counts: dict[str, int] = dict(
        (await session.execute(text("SELECT state, count(*) FROM credentials GROUP BY state"))).tuples().all()
    )
    for state in ("pending", "active", "revoking", "revoked", "failed"):
        _by_state.labels(state=state).set(counts.get(state, 0))
    rows = await liveness.workers(session)
    health = liveness.health(rows, request.app.state.settings.worker_stale_seconds)
    _since_pass.clear()
    for r in rows:
        _since_pass.labels(worker=r["id"], role=r["role"]).set(max(0.0, r["age"]))
    _counters.rows = rows
    _stale.set(len(health["stale_workers"]))
    for name in ("lease_states", "desired_state"):
        _sites_failing.labels(pass_name=name).set(sum(1 for f in health["sites_failing"] if f.get("pass") == name))
    return Response(generate_latest(_registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    app.include_router(router)
