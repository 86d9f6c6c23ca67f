"""Provisioning: credential states, the one-time reveal, operations, the mass-revocation guard, /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric

from domain.services import mail
from domain.webhooks.endpoints import backlog as webhook_backlog  # --- webhooks (issue 14) ---
from provisioning import credentials, liveness
from provisioning.kpis import credentials_by_state, read_kpis
from provisioning.schemas import (
    CredentialKind,
    CredentialOut,
    CredentialPage,
    CredentialState,
    GuardOut,
    GuardReject,
    LeaseCredentials,
    ProvisioningKpis,
    RevealedSecret,
)
from service.api import helpdesk_kpis  # --- help desk KPIs (issue 15) ---
from service.api.deps import Cursor, Limit
from service.auth import ClientWriter, MetricsReader, Principal, StaffOrFinance, StaffUser, require_roles
from service.db import SessionDep

router = APIRouter(tags=["provisioning"])

LeaseReader = Annotated[Principal, require_roles("admin", "facility_staff", "client_admin", "client_viewer")]


@router.get("/v1/leases/{lease_id}/credentials", response_model=LeaseCredentials)
async def lease_credentials(lease_id: uuid.UUID, user: LeaseReader, session: SessionDep) -> LeaseCredentials:
    """Every facility credential of the lease's agents (Wi-Fi, directory account, door badge) with its state
    (pending, active, revoking, revoked, failed)."""
    return await credentials.lease_credentials(session, user, lease_id)


@router.post("/v1/credentials/{credential_id}/reveal", response_model=RevealedSecret)
async def reveal(credential_id: uuid.UUID, user: ClientWriter, session: SessionDep, request: Request) -> JSONResponse:
    """The secret, once: afterwards it is destroyed and the answer is 410."""
    body = await credentials.reveal_secret(session, user, credential_id, request.app.state.settings.secret_key)
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/v1/provisioning/credentials", response_model=CredentialPage)
async def list_provisioning_credentials(
    user: StaffUser,
    session: SessionDep,
    state: CredentialState | None = None,
    kind: CredentialKind | None = None,
    lease_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CredentialPage:
    """Every credential across leases, filtered by state, kind and lease. Paged by id."""
    return await credentials.list_credentials(session, state=state, kind=kind, lease_id=lease_id, cursor=cursor, limit=limit)


@router.post("/v1/provisioning/credentials/{credential_id}/retry", response_model=CredentialOut)
async def retry(credential_id: uuid.UUID, user: StaffUser, session: SessionDep) -> CredentialOut:
    """Try a credential again now, with a fresh back-off."""
    return CredentialOut.of(await credentials.retry_credential(session, user, credential_id))


@router.get("/v1/provisioning/guards", response_model=list[GuardOut], summary="Mass-revocation guards")
async def list_guards(
    user: StaffUser,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(pending|confirmed|consumed|dismissed|rejected)$")] = None,
) -> list[GuardOut]:
    """Roles: admin, facility_staff. The latest hundred guards, newest first: how many active credentials
    each held back of how many, of which targets (`by_kind`), since when, and who confirmed or rejected it."""
    return await credentials.list_guards(session, status)


@router.post("/v1/provisioning/guards/{guard_id}/confirm", response_model=GuardOut, summary="Confirm a held mass revocation")
async def confirm_guard(guard_id: uuid.UUID, user: StaffUser, session: SessionDep) -> GuardOut:
    """Roles: admin, facility_staff. A person confirms that the large revocation the reconciler held back
    is intended: the reconciler revokes those credentials on its next pass. **409** unless the guard is
    pending (it was confirmed, rejected or dismissed already: a second submit changes nothing)."""
    return GuardOut.model_validate(await credentials.confirm_guard(session, user, guard_id))


# --- integrations (issue 13): a held revocation can be rejected ---
@router.post("/v1/provisioning/guards/{guard_id}/reject", response_model=GuardOut, summary="Reject a held mass revocation")
async def reject_guard(guard_id: uuid.UUID, user: StaffUser, session: SessionDep, body: GuardReject | None = None) -> GuardOut:
    """Roles: admin, facility_staff. A person says the large revocation the reconciler held back is not
    intended (`reason`, optional, kept on the guard and in the audit log): the held credentials stay
    active, and the same drift is not asked about again (a larger one is; drift that goes away ends the
    rejection). **409** unless the guard is pending; a second submit changes nothing."""
    reason = body.reason if body is not None else None
    return GuardOut.model_validate(await credentials.reject_guard(session, user, guard_id, reason))


@router.get("/v1/provisioning/kpis", response_model=ProvisioningKpis)
async def provisioning_kpis(user: StaffOrFinance, session: SessionDep) -> ProvisioningKpis:
    """Provisioning health: lead time from lease start to active credential, revocation lag after a lease ends,
    failures."""
    return await read_kpis(session)


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
# --- client SCIM (issue 14): an identity provider's deactivate/delete call to the agent's last credential cut ---
_scim_deprov = Gauge(
    "seatlease_scim_deprovision_seconds",
    "Client SCIM deactivate/delete to the agent's last credential cut",
    ["quantile"],
    registry=_registry,
)
# --- email: the outbox by state (domain/services/mail.py) ---
_emails = Gauge("seatlease_emails", "Emails in the outbox by state (pending, sent, failed)", ["status"], registry=_registry)
# --- webhooks (issue 14): what waits to be delivered (domain/webhooks/endpoints.py backlog) ---
_webhooks = Gauge(
    "seatlease_webhook_deliveries",
    "Webhook deliveries not yet delivered: waiting, or held by a paused endpoint",
    ["status"],
    registry=_registry,
)
_webhooks_oldest = Gauge(
    "seatlease_webhook_oldest_waiting_seconds", "Age of the oldest webhook delivery still waiting", registry=_registry
)
_webhooks_paused = Gauge("seatlease_webhook_endpoints_paused", "Webhook endpoints paused (their events held)", registry=_registry)


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
    k = await read_kpis(session)
    for gauge, stats in ((_lead, k.provisioning_lead_time), (_lag, k.revocation_lag), (_scim_deprov, k.scim_deprovision_time)):
        for q, value in (("0.5", stats.p50_seconds), ("0.99", stats.p99_seconds), ("1", stats.max_seconds)):
            gauge.labels(quantile=q).set(value or 0.0)
    _without.set(k.credentials_active_without_lease)
    _devices_out.set(k.devices_out_for_return)
    _short.set(k.seats_short_of_devices)
    _guards.set(k.mass_revocations_awaiting_confirmation)
    counts = await credentials_by_state(session)
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
    # --- email ---
    for status, n in (await mail.outbox_counts(session)).items():
        _emails.labels(status=status).set(n)
    # --- webhooks ---
    hooks_backlog = await webhook_backlog(session)
    _webhooks.labels(status="waiting").set(hooks_backlog["waiting"])
    _webhooks.labels(status="held").set(hooks_backlog["held"])
    _webhooks_oldest.set(hooks_backlog["oldest_waiting_seconds"])
    _webhooks_paused.set(hooks_backlog["paused_endpoints"])
    # --- help desk KPIs (issue 15): open tickets, opened/resolved, resolution time, SLA compliance ---
    await helpdesk_kpis.update_metrics(session)
    return Response(generate_latest(_registry) + generate_latest(helpdesk_kpis.registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    app.include_router(router)
