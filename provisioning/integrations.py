"""Provisioning's targets as the integrations page shows them (directory, Wi-Fi, badges), read from
the credentials' states per kind, with the reconciler's liveness and the mass-revocation guards that
wait for a person (pending) or stand rejected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.services.integrations import IntegrationTarget
from provisioning import liveness
from provisioning.config import ProvisioningConfig
from provisioning.credentials import list_guards
from provisioning.schemas import GuardOut

# per kind: the work waiting (a grant not yet made, a disable not yet done), what failed, and when the
# target last answered a call well (a settled row with no error; a failed call leaves its error)
_BY_KIND = """
SELECT kind,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE desired AND state = 'pending') AS pending_grant,
       count(*) FILTER (WHERE NOT desired AND state = 'revoking' AND disabled_at IS NULL) AS pending_revoke,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state = 'revoked') AS revoked,
       max(updated_at) FILTER (WHERE last_error IS NULL AND attempts = 0 AND state <> 'pending'
                               AND (first_granted_at IS NOT NULL OR disabled_at IS NOT NULL)) AS last_success
FROM credentials GROUP BY kind
"""
_LAST_ERROR = """
SELECT DISTINCT ON (kind) kind, last_error, updated_at FROM credentials
WHERE last_error IS NOT NULL ORDER BY kind, updated_at DESC NULLS LAST
"""

_TARGETS: dict[str, dict[str, Any]] = {
    "directory": {
        "name": "Directory accounts (SCIM)",
        "settings": ["SCIM_BASE_URL", "SCIM_TOKEN"],
        "off": "Off: set SCIM_BASE_URL and SCIM_TOKEN to your identity provider's SCIM 2.0 endpoint.",
    },
    "wifi": {
        "name": "Wi-Fi logins (FreeRADIUS)",
        "settings": ["RADIUS_DATABASE_URL"],
        "off": "Off: set RADIUS_DATABASE_URL to the database your FreeRADIUS reads (radcheck, radusergroup).",
    },
    "badge": {
        "name": "Door badges (access control)",
        "settings": ["BADGE_WEBHOOK_URL", "BADGE_WEBHOOK_SECRET"],
        "off": "Off: set BADGE_WEBHOOK_URL and BADGE_WEBHOOK_SECRET to feed your access-control system.",
    },
}


class WorkerState(BaseModel):
    id: str
    role: str
    last_pass_at: datetime | None
    seconds_since_last_pass: float | None
    stale: bool
    passes: int
    failed_passes: int
    last_error: str | None
    last_error_at: datetime | None


class ReconcilerState(BaseModel):
    """The workers' liveness (provisioning/liveness.py): `ok`, `degraded` (a worker's last pass is older
    than the stale threshold, or a pass skipped sites) or `none` (no worker has reported: nothing provisions)."""

    status: str
    stale_after_seconds: float
    workers: list[WorkerState]
    note: str | None = None


def _endpoint(kind: str, config: ProvisioningConfig) -> str | None:
    if kind == "directory":
        return config.scim_base_url
    if kind == "badge":
        return config.badge_webhook_url
    url = config.radius_database_url
    if not url:
        return None
    head, sep, rest = url.replace("postgresql+asyncpg://", "postgresql://", 1).partition("://")
    authority, slash, path = rest.partition("/")
    return f"{head}{sep}{authority.rsplit('@', 1)[-1]}{slash}{path}"  # never the password


def _note(kind: str, config: ProvisioningConfig, configured: bool, demo: bool) -> str:
    if configured:
        if demo and kind == "directory":
            return "The demo's SCIM directory, in memory beside the API: set SCIM_BASE_URL and SCIM_TOKEN for a real one."
        if demo:
            return "The demo's radius database in the embedded PostgreSQL: point a FreeRADIUS at it, or set RADIUS_DATABASE_URL"
        return "On."
    if kind == "badge" and config.badge_webhook_url:
        return "BADGE_WEBHOOK_SECRET is missing: badges are not sent until it is set."
    if kind == "directory" and config.scim_token and not config.scim_base_url:
        return "SCIM_TOKEN is set but SCIM_BASE_URL is not: " + str(_TARGETS[kind]["off"]).removeprefix("Off: ")
    return str(_TARGETS[kind]["off"])


async def provisioning_targets(
    session: AsyncSession, config: ProvisioningConfig, demo: tuple[str, ...] = ()
) -> list[IntegrationTarget]:
    by_kind = {r.kind: r for r in (await session.execute(text(_BY_KIND))).all()}
    errors = {r.kind: r for r in (await session.execute(text(_LAST_ERROR))).all()}
    enabled = config.enabled_kinds
    out = []
    for kind, spec in _TARGETS.items():
        row, err = by_kind.get(kind), errors.get(kind)
        counts = {
            name: int(getattr(row, name)) if row is not None else 0
            for name in ("active", "pending_grant", "pending_revoke", "failed", "revoked")
        }
        configured = kind in enabled
        out.append(
            IntegrationTarget(
                key=kind,
                name=spec["name"],
                configured=configured,
                demo=configured and kind in demo,
                endpoint=_endpoint(kind, config),
                settings=spec["settings"],
                note=_note(kind, config, configured, kind in demo),
                last_success_at=row.last_success if row is not None else None,
                last_error=err.last_error if err is not None else None,
                last_error_at=err.updated_at if err is not None else None,
                pending=counts["pending_grant"] + counts["pending_revoke"],
                failed=counts["failed"],
                counts=counts,
            )
        )
    return out


async def reconciler_state(session: AsyncSession, stale_seconds: float) -> ReconcilerState:
    rows = [r for r in await liveness.workers(session) if r["role"] == "reconciler"]
    health = liveness.health(rows, stale_seconds)
    workers = [WorkerState.model_validate(w) for w in health["workers"]]
    if not rows:
        return ReconcilerState(
            status="none",
            stale_after_seconds=stale_seconds,
            workers=[],
            note="No reconciler has reported: nothing is provisioned until a worker runs (seatlease worker, or seatlease up).",
        )
    note = None
    if health["stale_workers"]:
        note = f"{len(health['stale_workers'])} reconciler(s) have not completed a pass for over {stale_seconds:.0f} s."
    elif health["sites_failing"]:
        note = "The last pass skipped sites: " + ", ".join(str(s.get("code", "?")) for s in health["sites_failing"])
    return ReconcilerState(status=health["status"], stale_after_seconds=stale_seconds, workers=workers, note=note)


async def standing_guards(session: AsyncSession) -> list[GuardOut]:
    """Guards waiting for a person (pending), and rejections that still hold credentials back."""
    return await list_guards(session, ("pending", "rejected"))
